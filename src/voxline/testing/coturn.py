"""A real coturn TURN server on loopback, for tests.

    async with coturn(tmp_path) as turn:
        settings = turn.webrtc_settings()          # TURN REST credentials for this instance
        pc = RTCPeerConnection(rtc_configuration(settings))

One `turnserver` process per use: a free port on 127.0.0.1, TURN REST API auth
(`use-auth-secret` + a random `static-auth-secret`), relay addresses on 127.0.0.1 only, no
TLS/DTLS listeners, no telnet CLI, no configuration file (`-n`: /etc/turnserver.conf is never
read), and its log, pid file and SQLite database in the given directory. coturn refuses relay
peers on loopback by default; `allow-loopback-peers` lifts that, which is why this is a test
server and must never be copied into a production config.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aioice import stun

from voxline.config import WebRTCSettings

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
_PROBE_INTERVAL_S = 0.05


class CoturnError(RuntimeError):
    pass


@dataclass(frozen=True)
class Coturn:
    host: str
    port: int
    secret: str  # the static-auth-secret: TURN REST credentials are derived from it
    realm: str
    log_path: Path

    def turn_url(self, transport: str = "udp") -> str:
        return f"turn:{self.host}:{self.port}?transport={transport}"

    def stun_url(self) -> str:
        return f"stun:{self.host}:{self.port}"

    def webrtc_settings(self, **overrides: Any) -> WebRTCSettings:
        """WebRTC settings that use this server for TURN, with host candidates on loopback."""
        fields: dict[str, Any] = {
            "turn_urls": [self.turn_url()],
            "turn_rest_secret": self.secret,
            "host_addresses": [self.host],
        }
        return WebRTCSettings(**(fields | overrides))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@asynccontextmanager
async def coturn(directory: Path, *, realm: str = "voxline.test") -> AsyncIterator[Coturn]:
    """Start `turnserver` on a free loopback port, wait until it answers, stop it on exit."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise CoturnError("turnserver is not installed; run `make debian` (Debian package coturn)")
    directory.mkdir(parents=True, exist_ok=True)
    turn = Coturn(HOST, _free_port(), secrets.token_urlsafe(24), realm, directory / "turn.log")
    output = (directory / "turnserver.out").open("wb")  # what it prints before the log opens
    process = await asyncio.create_subprocess_exec(
        binary, *_arguments(turn, directory), stdout=output, stderr=asyncio.subprocess.STDOUT
    )
    output.close()
    try:
        await _wait_until_answering(turn, process)
        yield turn
    finally:
        await _stop(process)


def _arguments(turn: Coturn, directory: Path) -> list[str]:
    return [
        "-n",  # no configuration file: every setting is on this line
        f"--listening-ip={turn.host}",
        f"--listening-port={turn.port}",
        f"--relay-ip={turn.host}",
        "--use-auth-secret",
        f"--static-auth-secret={turn.secret}",
        f"--realm={turn.realm}",
        "--allow-loopback-peers",  # both relays live on 127.0.0.1 (never in production)
        "--no-multicast-peers",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--no-rfc5780",  # no alternate port at port+1
        "--no-auth-pings",
        "--no-dynamic-ip-list",
        "--no-dynamic-realms",
        "--fingerprint",
        "--verbose",  # session lines (user, relay address) in the log
        f"--log-file={turn.log_path}",
        "--simple-log",
        "--no-stdout-log",
        f"--pidfile={directory / 'turnserver.pid'}",
        f"--userdb={directory / 'turndb'}",
    ]


def _free_port() -> int:
    """A port free for both UDP and TCP on loopback (coturn listens on both)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise CoturnError("found no loopback port free for both UDP and TCP")


async def _wait_until_answering(turn: Coturn, process: asyncio.subprocess.Process) -> None:
    """Ready when it answers a STUN Binding request on its UDP port."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + START_TIMEOUT_S
    transport, probe = await loop.create_datagram_endpoint(
        _BindingProbe, remote_addr=(turn.host, turn.port)
    )
    try:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise CoturnError(f"turnserver exited with {process.returncode}:\n{turn.log()}")
            request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
            probe.expect(request.transaction_id)
            transport.sendto(bytes(request))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(probe.answered), _PROBE_INTERVAL_S)
                return
    finally:
        transport.close()
    raise CoturnError(f"turnserver did not answer STUN within {START_TIMEOUT_S} s:\n{turn.log()}")


class _BindingProbe(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._transaction_ids: set[bytes] = set()

    def expect(self, transaction_id: bytes) -> None:
        self._transaction_ids.add(transaction_id)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(ValueError):
            message = stun.parse_message(data)
            if message.transaction_id in self._transaction_ids and not self.answered.done():
                self.answered.set_result(None)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable while turnserver is still starting: probe again


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
