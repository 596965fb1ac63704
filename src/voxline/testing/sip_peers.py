"""Real SIP peers for tests: sipp scenarios (Debian sip-tester) and a baresip caller.

Both run as child processes on 127.0.0.1 against a `SipAgent` in the test's event loop, and
both are bounded in time: a peer that hangs is killed at its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxline.audio.g711 import ulaw_encode
from voxline.audio.wav import read_wav, write_wav

SCENARIOS = Path(__file__).resolve().parents[3] / "tests" / "sip"


@contextlib.asynccontextmanager
async def sip_agent(settings, providers, **sip):
    """A started SipAgent on a free loopback port with its own RTP range; `sip` overrides
    SIPSettings fields (ring_ms, allow_from, auth_users...)."""
    from voxline.config import SIPSettings
    from voxline.transports.sip import SipAgent

    low = 20000 + (free_udp_port() & ~1) % 20000
    config = SIPSettings(enabled=True, port=0, rtp_port_min=low, rtp_port_max=low + 200, **sip)
    agent = SipAgent(settings.model_copy(update={"sip": config}), lambda: providers)
    await agent.start()
    try:
        yield agent
    finally:
        await agent.stop()


async def wait_for(predicate, timeout_s: float, what: str) -> None:
    """Poll `predicate` until true; fail with `what` after `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{what} (waited {timeout_s:.0f} s)") from None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def have(binary: str) -> bool:
    return shutil.which(binary) is not None


def write_pcmu(wav: Path, out: Path) -> float:
    """A caller WAV as raw 8 kHz mu-law (what sipp's rtp_stream plays). Returns seconds."""
    audio = read_wav(wav, 8000)
    out.write_bytes(ulaw_encode(audio.pcm))
    return len(audio.pcm) / 16000


@dataclass
class SippResult:
    returncode: int
    output: str
    successful: int
    failed: int


async def run_sipp(scenario: str, port: int | None, workdir: Path, *, calls: int = 1,
                   concurrent: int = 1, rate: float = 10, timeout_s: float = 90,
                   fill: dict[str, str] | None = None, listen: int | None = None) -> SippResult:
    """Run tests/sip/<scenario> against 127.0.0.1:`port` (None: sipp answers calls on
    `listen`); @NAME@ tokens are filled from `fill` (sipp 3.6 does not expand -key values
    inside exec and pause)."""
    text = (SCENARIOS / scenario).read_text()
    for name, value in (fill or {}).items():
        text = text.replace(f"@{name}@", value)
    path = workdir / scenario
    path.write_text(text)
    remote = [f"127.0.0.1:{port}"] if port is not None else []
    args = [
        "sipp", "-sf", str(path), *remote, "-i", "127.0.0.1",
        "-p", str(listen or free_udp_port()), "-mi", "127.0.0.1", "-mp", str(free_udp_port()),
        "-m", str(calls), "-l", str(concurrent), "-r", str(rate), "-nostdin",
        "-timeout", f"{int(timeout_s)}s", "-timeout_error", "-trace_err",
    ]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s + 10)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    return SippResult(proc.returncode if proc.returncode is not None else -1, text,
                      _count(text, "Successful call"), _count(text, "Failed call"))


def _count(output: str, label: str) -> int:
    """The cumulative column of sipp's final statistics line `label | periodic | cumulative`."""
    lines = [line for line in output.splitlines() if line.strip().startswith(label)]
    if not lines:
        return 0
    return int(lines[-1].split("|")[-1].strip() or 0)


BARESIP_CONFIG = """\
poll_method		epoll
sip_listen		127.0.0.1:{sip_port}
call_local_timeout	120
audio_player		aubridge,nil
audio_source		aufile,{source}
audio_alert		aubridge,nil
ausrc_format		s16
auplay_format		s16
rtp_ports		{rtp_low}-{rtp_high}
jitter_buffer_delay	1-10
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_tmp		account.so
module_app		menu.so
snd_path		{dump}
"""


@dataclass
class BaresipCall:
    process: asyncio.subprocess.Process
    directory: Path

    def received_audio(self) -> tuple[np.ndarray, int]:
        """What baresip decoded from the agent (its sndfile dump), as int16 samples."""
        (path,) = sorted((self.directory / "dump").glob("dump-*-dec.wav"))
        audio = read_wav(path, None)
        return np.frombuffer(audio.pcm, dtype="<i2"), audio.rate

    def sent_audio(self) -> tuple[np.ndarray, int]:
        (path,) = sorted((self.directory / "dump").glob("dump-*-enc.wav"))
        audio = read_wav(path, None)
        return np.frombuffer(audio.pcm, dtype="<i2"), audio.rate

    async def stop(self, timeout_s: float = 10) -> str:
        """End baresip (SIGTERM, then SIGKILL at the deadline); returns its log."""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        return (self.directory / "baresip.log").read_text(errors="replace")


async def start_baresip_call(directory: Path, question_wav: Path, target: str, *,
                             hold_s: float = 60, max_s: int = 120) -> BaresipCall:
    """baresip dials `target` and speaks `question_wav`, then `hold_s` of silence (baresip
    ends its call when its aufile source runs out, so the silence keeps the line open)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dump").mkdir(exist_ok=True)
    question = read_wav(question_wav, 8000)
    source = directory / "question.wav"
    write_wav(source, question.pcm + bytes(int(8000 * hold_s) * 2), 8000)
    rtp_low = free_udp_port() & ~1
    (directory / "config").write_text(BARESIP_CONFIG.format(
        sip_port=free_udp_port(), source=source, rtp_low=rtp_low, rtp_high=rtp_low + 20,
        dump=directory / "dump"))
    (directory / "accounts").write_text("<sip:caller@127.0.0.1>;regint=0\n")
    # Its status line repaints many times a second: to a file, so no pipe fills and blocks it.
    with (directory / "baresip.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            "baresip", "-f", str(directory), "-e", f"/dial {target}", "-t", str(max_s),
            cwd=directory, stdin=asyncio.subprocess.DEVNULL, stdout=log,
            stderr=asyncio.subprocess.STDOUT)
    return BaresipCall(process, directory)


@contextlib.asynccontextmanager
async def stopping(call: BaresipCall):
    try:
        yield call
    finally:
        await call.stop()
