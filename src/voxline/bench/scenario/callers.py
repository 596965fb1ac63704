"""Callers: many scripted calls per process, each process one asyncio loop.

The runner spawns `caller_processes` of these; each is handed the start times (system-wide
monotonic clock, shared with the runner and the worker) of its share of the calls, places
them, and sends back one dict per call. A call says every line of its script once, then
repeats them until the scenario's duration has passed: say a line, wait for the agent's answer to start (that is
`voice_to_voice_ms`, measured here from audio), wait for it to end, pause, next line.

Twilio: `voxline.testing.twilio_client.TwilioCaller`, with the playout track reduced to one
flag per 20 ms tick (audio or not), so that holes inside an answer (underruns: the worker
sent too late) can be counted, and without keeping the decoded audio (cheap callers).
WebRTC: `voxline.testing.webrtc_client.ScriptedCaller` (aiortc). SIP: the caller harness's
`place_call` (voxline.bench.caller), whose gaps are its playout buffer's underruns.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
import traceback
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import uvloop

from voxline.bench.caller.playout import gaps_of_arrivals
from voxline.bench.scenario.stats import playout_holes
from voxline.protocols import twilio_media as tm
from voxline.testing.twilio_client import TwilioCaller

FRAME_S = 0.02
QUIET_S = 0.4  # the agent silent this long after voiced audio: its answer has ended
# Send times kept per turn from the frame holding the caller's last voiced sample on: enough to
# reach past the endpoint window, which the exact overhead (results.py) is timed from.
SENDS_KEPT = 150
CONNECT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class CallPlan:
    """What every call of a run does (pickled into the caller processes)."""

    base_url: str  # the worker, http://127.0.0.1:PORT
    transport: str
    lines: tuple[str, ...]  # line names, for the results
    wavs: tuple[str, ...]  # one WAV per line
    pause_s: float
    answer_timeout_s: float
    duration_s: float
    twilio_token: str
    sip_target: str | None = None  # sip:agent@127.0.0.1:PORT when the worker listens for SIP


class _TickingCaller(TwilioCaller):
    """A TwilioCaller that keeps, per playout tick, only whether audio was played."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ticks = bytearray()  # 1: the tick played agent audio, 0: the queue was empty
        self.media_at: list[float] = []  # arrival of every agent media message
        self.sent_at: list[float] = []  # send time of every caller frame, by its index
        self.last_voiced_frame: int | None = None  # index of the frame with the last voiced sample

    async def _send_caller_frame(self, now: float, tick: int) -> None:
        before = self._last_voiced_sent_at
        self.sent_at.append(now)
        await super()._send_caller_frame(now, tick)
        if before is None and self._last_voiced_sent_at is not None:
            self.last_voiced_frame = len(self.sent_at) - 1

    def sends_from(self, frame: int) -> list[float]:
        """Send times of frame `frame` and the ones after it, so far (at most SENDS_KEPT)."""
        return self.sent_at[frame:frame + SENDS_KEPT]

    def _on_app_message(self, message: str | bytes) -> None:
        self.media_at.append(time.monotonic())  # any message; media ones are picked below
        before = self.media_received
        super()._on_app_message(message)
        if self.media_received == before:
            self.media_at.pop()

    def first_media_after(self, at: float) -> float | None:
        """Arrival of the first agent media (voiced or not) after `at`."""
        index = bisect.bisect_right(self.media_at, at)
        return self.media_at[index] if index < len(self.media_at) else None

    def _play_one_frame(self) -> bytes:
        had_audio = bool(self._queue) and isinstance(self._queue[0], bytes)
        self.ticks.append(had_audio)
        taken = 0
        while taken < tm.FRAME_BYTES and self._queue and isinstance(self._queue[0], bytes):
            chunk = self._queue.popleft()
            take = tm.FRAME_BYTES - taken
            taken += min(take, len(chunk))
            if len(chunk) > take:
                self._queue.appendleft(chunk[take:])
        self.played.clear()  # the base class appends what this returns: keep nothing
        return b""


async def _twilio_call(plan: CallPlan, audios: list, start_at: float) -> dict[str, Any]:
    from voxline.transports.twilio.webhook import STREAM_PATH

    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    url = plan.base_url.replace("http", "ws", 1) + STREAM_PATH
    caller = _TickingCaller(url, auth_token=plan.twilio_token)
    started = time.monotonic()
    result: dict[str, Any] = {"transport": "twilio", "started_at": started, "turns": [],
                              "call_sid": caller.call_sid}
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await caller.connect()
        result["setup_ms"] = round((time.monotonic() - started) * 1000, 1)
        index = 0
        while index < len(audios) or time.monotonic() - started < plan.duration_s:
            line = index % len(audios)
            reply = await caller.ask(audios[line], timeout=plan.answer_timeout_s)
            media_at = (caller.first_media_after(reply.last_voiced_sent_at)
                        if reply.first_agent_audio_at is not None else None)
            voiced_frame, caller.last_voiced_frame = caller.last_voiced_frame, None
            result["turns"].append({
                "line": plan.lines[line],
                "voice_to_voice_ms": reply.voice_to_voice_ms,
                # to the first agent audio of any level: the TTS audio's own lead-in left out
                "voice_to_media_ms": None if media_at is None else round(
                    (media_at - reply.last_voiced_sent_at) * 1000, 1),
                "last_voiced_sent_at": reply.last_voiced_sent_at,
                "first_agent_audio_at": reply.first_agent_audio_at,
                "first_media_at": media_at,
                "last_voiced_frame": voiced_frame,
            })
            if caller.closed_by_app.is_set():
                result["error"] = "the worker closed the stream"
                break
            await caller.wait_until_quiet(QUIET_S, timeout=plan.answer_timeout_s + 30)
            if voiced_frame is not None:  # the window has long passed: its frames are sent
                result["turns"][-1]["sends_after_voice"] = caller.sends_from(voiced_frame)
            await asyncio.sleep(plan.pause_s)
            index += 1
        await caller.stop()
    except Exception as err:  # noqa: BLE001 - one failed call is a result, not the run's end
        result["error"] = f"{type(err).__name__}: {err}"
        with contextlib.suppress(Exception):
            await caller.close()
    result["ended_at"] = time.monotonic()
    holes = playout_holes(caller.ticks)
    result["gaps"] = len(holes)
    result["gap_ms"] = sum(length for _, length in holes) * 20
    # Where each hole fell: ms after the start of the answer it interrupted, and its length.
    answers = sorted(t["first_media_at"] for t in result["turns"] if t.get("first_media_at"))
    result["gaps_into_answer_ms"] = [
        [_since_last(answers, caller.play_started_at + first * FRAME_S), length * 20]
        for first, length in holes]
    result["agent_ticks"] = sum(caller.ticks)
    result["media_received"] = caller.media_received
    return result


def _since_last(starts: list[float], at: float) -> float | None:
    """ms from the latest of `starts` at or before `at` (None if none is)."""
    index = bisect.bisect_right(starts, at)
    return round((at - starts[index - 1]) * 1000) if index else None


async def _webrtc_call(plan: CallPlan, pcm48: list[bytes], start_at: float) -> dict[str, Any]:
    from voxline.testing.webrtc_client import ScriptedCaller

    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    started = time.monotonic()
    result: dict[str, Any] = {"transport": "webrtc", "started_at": started, "turns": []}
    caller = ScriptedCaller(plan.base_url, pcm48[0])
    try:
        await caller.start()
        result["call_id"] = caller.log.call_id  # the worker records the call under this id
        result["setup_ms"] = round((time.monotonic() - started) * 1000, 1)
        index = 0
        while index < len(pcm48) or time.monotonic() - started < plan.duration_s:
            line = index % len(pcm48)
            if index:
                caller.log.voice_to_voice_ms = None
                caller.mic.say(pcm48[line])
            answered = await caller.wait_for(
                lambda log: log.voice_to_voice_ms is not None, plan.answer_timeout_s + 10)
            mic = caller.mic
            voice_end = mic.voice_ended_at
            media_at = caller.log.first_media_after(voice_end) if answered and voice_end else None
            voiced_frame = mic.voiced_frame
            result["turns"].append({
                "line": plan.lines[line],
                "voice_to_voice_ms": caller.log.voice_to_voice_ms if answered else None,
                "voice_to_media_ms": None if media_at is None else round(
                    (media_at - voice_end) * 1000, 1),
                "first_media_at": media_at,
                "last_voiced_frame": voiced_frame,
            })
            await caller.wait_for(_agent_quiet, plan.answer_timeout_s + 30)
            if voiced_frame is not None:  # the frames that timed the endpoint (webrtc_overhead)
                result["turns"][-1]["sends_after_voice"] = mic.sends_from(voiced_frame, SENDS_KEPT)
            await asyncio.sleep(plan.pause_s)
            index += 1
        result["inbound_lost"] = await caller.packets_lost_at_server()
        await caller.hang_up()
    except Exception as err:  # noqa: BLE001 - one failed call is a result
        result["error"] = f"{type(err).__name__}: {err}"
    finally:
        with contextlib.suppress(Exception):
            await caller.close()
    result["ended_at"] = time.monotonic()
    # aiortc's receiver does not expose underruns: the frames' arrivals are replayed through the
    # Twilio and SIP callers' playout model instead.
    result["gaps"], result["gap_ms"] = gaps_of_arrivals(caller.log.agent_frames)
    return result


def _agent_quiet(log: Any) -> bool:
    """The agent has been silent for QUIET_S after speaking."""
    loud = log.agent_loud
    if not loud or not any(voiced for _, voiced in loud[-200:]):
        return False
    last_voiced = max(t for t, voiced in loud[-200:] if voiced)
    return time.monotonic() - last_voiced >= QUIET_S


async def _sip_call(plan: CallPlan, _audios: list, start_at: float) -> dict[str, Any]:
    """SIP through the caller harness (voxline.bench.caller): its own UAC and paced RTP."""
    from voxline.bench.caller import Script, place_call
    from voxline.bench.scenario.sip_overhead import caller_turn

    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    rounds = max(1, math.ceil(plan.duration_s / (8.0 * len(plan.wavs))))  # ~8 s a turn
    names = list(plan.lines) * rounds
    script = Script.from_wavs(list(plan.wavs) * rounds, answer_quiet_ms=int(QUIET_S * 1000),
                              reply_timeout_s=plan.answer_timeout_s)
    started = time.monotonic()
    result: dict[str, Any] = {"transport": "sip", "started_at": started, "turns": []}
    try:
        assert plan.sip_target is not None
        dialled: list[Any] = []  # the harness's SipCall: its packets' send times
        call = await place_call(plan.sip_target, "sip", script,
                                timeout_s=plan.duration_s + 60 * len(names),
                                on_dialled=dialled.append)
        result["setup_ms"] = call.setup_ms
        result["gaps"] = call.gaps
        result["gap_ms"] = call.underrun_ms
        result["transport_ref"] = dialled[0].call_id  # the SIP Call-ID: the worker's record
        result["turns"] = [{"line": names[t.index], "voice_to_voice_ms": t.voice_to_voice_ms,
                            **caller_turn(dialled[0], t)} for t in call.turns]
        if call.ended_by not in ("caller",):
            result["error"] = f"call ended by {call.ended_by}"
    except Exception as err:  # noqa: BLE001 - one failed call is a result
        result["error"] = f"{type(err).__name__}: {err}"
        result["gaps"] = None
    result["ended_at"] = time.monotonic()
    return result


async def place_calls(plan: CallPlan, starts: list[float]) -> list[dict[str, Any]]:
    """Place one call per start time, concurrently, in this loop."""

    audios = _audios(plan)
    place = {"twilio": _twilio_call, "webrtc": _webrtc_call, "sip": _sip_call}[plan.transport]
    return list(await asyncio.gather(*(place(plan, audios, at) for at in starts)))


def _audios(plan: CallPlan) -> list:
    from voxline.audio.wav import read_wav

    if plan.transport == "twilio":
        return [read_wav(Path(w), tm.RATE) for w in plan.wavs]
    if plan.transport == "sip":
        return []  # the harness reads the WAVs itself
    lead = bytes(48000 // 1000 * 500 * 2)  # 500 ms of silence while the call connects
    return [lead + read_wav(Path(w), 48000).pcm for w in plan.wavs]


def caller_process(plan: CallPlan, starts: list[float], out: Queue) -> None:
    """Entry point of one caller process: results (or the traceback) go to `out`."""
    try:
        # uvloop: a caller process is load, not the system under test, and the cheaper its
        # loop the less it takes from the worker's cores (every send time is still measured).
        out.put(("ok", uvloop.run(place_calls(plan, starts))))
    except BaseException:  # the runner reports it instead of waiting forever
        out.put(("error", traceback.format_exc()))
