"""`voxline serve` in a child process on a free loopback port, for tests and benchmarks.

    with served({"VOXLINE_WEBRTC__MAX_CALLS": "2"}) as server:
        httpx.post(f"{server.url}/webrtc/calls")

A child process, not a thread: the server's event loop and model threads then compete with
the test's browser or aiortc peer the way they would on a real host, and a crash in one
cannot hang the other. Host candidates are pinned to 127.0.0.1, so ICE stays on loopback.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(env: dict[str, str] | None = None, *, log_dir: Path) -> Iterator[Served]:
    """Start the server, wait for /readyz, yield; SIGTERM (then SIGKILL) on exit."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"voxline-serve-{port}.log"
    child_env = {
        **os.environ,
        "VOXLINE_HOST": "127.0.0.1",
        "VOXLINE_PORT": str(port),
        "VOXLINE_WEBRTC__HOST_ADDRESSES": '["127.0.0.1"]',
        "VOXLINE_CLINIC_DB": str(log_dir / "clinic.sqlite"),
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "voxline.cli", "serve"],
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Served(f"http://127.0.0.1:{port}", port, log_path)
    try:
        _wait_ready(server, process)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Served, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voxline serve exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"voxline serve not ready in {READY_TIMEOUT_S:.0f} s:\n{server.log()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
