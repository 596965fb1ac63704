"""`make serve` on this checkout answers /healthz, then says it is ready."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.models
def test_make_serve_answers_healthz_and_becomes_ready():
    port = _free_port()
    env = {**os.environ, "VOXLINE_PORT": str(port), "VOXLINE_HOST": "127.0.0.1"}
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = _poll(f"{base}/healthz", lambda r: r.status_code == 200, 120)
        assert health.json()["status"] == "ok"
        ready = _poll(f"{base}/readyz", lambda r: r.status_code == 200, 180)
        assert ready.json()["ready"] is True
        page = httpx.get(f"{base}/", timeout=5)
        assert page.status_code == 200
        assert f"127.0.0.1:{port}" in page.text and "ready for calls" in page.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _poll(url: str, good, timeout_s: float) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2)
            if good(last):
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not good within {timeout_s}s: {last and last.text}")
