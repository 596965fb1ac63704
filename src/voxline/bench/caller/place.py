"""place_call: dial a voxline server over one transport, play a script, measure, hang up.

    result = await place_call("http://127.0.0.1:8080", "twilio", Script.from_wavs(["q.wav"]),
                              twilio_auth_token="...")

Cheap enough to run dozens at once on one loop: per call, two or three tasks (the 20 ms ticker,
the receiver, the script), no task per frame, numpy energy on whole frames.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from voxline.audio.wav import write_wav
from voxline.bench.caller.conductor import converse, results
from voxline.bench.caller.errors import CallTimeout, TargetError, UnreachableError
from voxline.bench.caller.line import CallerLine
from voxline.bench.caller.result import CallResult
from voxline.bench.caller.script import Script

TRANSPORTS = ("twilio", "webrtc", "sip")
RATES = {"twilio": 8000, "sip": 8000, "webrtc": 48000}
DEFAULT_TIMEOUT_S = 300.0
HANG_UP_TIMEOUT_S = 5.0


class Dialled(Protocol):
    setup_ms: float | None

    async def dial(self) -> None: ...
    async def hang_up(self) -> None: ...
    async def close(self) -> None: ...


def _transport(transport: str, line: CallerLine, target: str, options: dict) -> Dialled:
    if transport == "twilio":
        from voxline.bench.caller.twilio import TwilioCall

        token = options.get("twilio_auth_token") or os.environ.get("VOXLINE_TWILIO__AUTH_TOKEN")
        return TwilioCall(line, target, token)
    if transport == "webrtc":
        from voxline.bench.caller.webrtc import WebRTCCall

        return WebRTCCall(line, target, ice_servers=options.get("ice_servers") or [])
    if transport == "sip":
        from voxline.bench.caller.sip import SipCall

        return SipCall(line, target, username=options.get("sip_username"),
                       password=options.get("sip_password"))
    raise TargetError(f"unknown transport {transport!r}; choose one of {', '.join(TRANSPORTS)}")


async def place_call(
    target: str,
    transport: str,
    script: Script,
    *,
    record_dir: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_dialled: Callable[[Dialled], None] | None = None,
    **options,
) -> CallResult:
    """Dial `target`, speak the script, return what the caller measured.

    Options: twilio_auth_token (else $VOXLINE_TWILIO__AUTH_TOKEN); ice_servers (WebRTC: a list
    of aiortc RTCIceServer, none by default: no STUN server is contacted unless given);
    sip_username / sip_password (digest credentials, used if the server challenges).
    on_dialled: called with the transport's call once it is up (the bench reads its packets'
    send times from it).
    Raises TargetError / UnreachableError when no call could be set up; once a call is up,
    a hang-up by the server or the time limit ends it and the result says so."""
    line = CallerLine(RATES.get(transport, 8000), record=record_dir is not None)
    call = _transport(transport, line, target, options)
    began = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            await call.dial()
    except BaseException as err:
        await call.close()
        if isinstance(err, TimeoutError):
            raise UnreachableError(f"no call set up with {target} in {timeout_s:g} s") from err
        raise
    if on_dialled is not None:
        on_dialled(call)
    ended_by, error = "caller", None
    played: list = []
    script_task = asyncio.create_task(converse(line, script, played))
    hung_up = asyncio.create_task(line.ended.wait())
    try:
        left = max(0.0, timeout_s - (time.monotonic() - began))
        done, _ = await asyncio.wait({script_task, hung_up}, timeout=left,
                                     return_when=asyncio.FIRST_COMPLETED)
        if script_task in done:
            script_task.result()  # raise what went wrong in it
        else:
            ended_by = (line.ended_by or "server") if hung_up in done else "timeout"
            if not done:
                error = str(CallTimeout(f"the call ran past timeout_s={timeout_s:g}"))
    finally:
        hung_up.cancel()
        if not script_task.done():
            script_task.cancel()
            await asyncio.gather(script_task, return_exceptions=True)
        try:
            async with asyncio.timeout(HANG_UP_TIMEOUT_S):
                await call.hang_up()
        except TimeoutError:
            await call.close()
    result = CallResult(
        transport=transport, target=target, setup_ms=call.setup_ms, ended_by=ended_by,
        duration_ms=round((time.monotonic() - began) * 1000, 1),
        turns=results(line, script, played), gaps=line.playout.gaps,
        underrun_ms=line.playout.underrun_ms, sequence_gaps=line.sequence_gaps,
        frames_sent=line.frames_sent, frames_received=line.frames_received, error=error,
    )
    if record_dir is not None:
        result.recordings = _write_recordings(line, Path(record_dir))
    return result


def _write_recordings(line: CallerLine, directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"heard": directory / "heard.wav", "sent": directory / "sent.wav"}
    write_wav(paths["heard"], bytes(line.heard_track), line.rate)
    write_wav(paths["sent"], bytes(line.sent_track), line.rate)
    return {name: str(path) for name, path in paths.items()}
