"""Plays a Script on a CallerLine: when to speak each turn, and the figures of each turn.

Before a turn the caller waits until the agent has finished (no voiced audio for the script's
answer_quiet_ms), then a human gap; a barge-in turn instead starts barge_in_after_ms after the
previous answer began arriving. After speaking, it waits for the answer to start (up to the
script's reply_timeout_s). Barge-in stops are read off the agent's voiced spans once the call is
over, when every span is known.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from voxline.bench.caller.line import CallerLine, Utterance
from voxline.bench.caller.result import TurnResult
from voxline.bench.caller.script import Script

# Agent silence that ends its audio after a barge-in: longer than the pauses between words.
STOP_QUIET_S = 0.3


@dataclass
class _Played:
    utterance: Utterance | None
    answer_at: float | None
    note: str | None = None


async def converse(line: CallerLine, script: Script, played: list[_Played]) -> None:
    """Speak every turn, appending what was played to `played` (for `results`), so the turns
    so far are kept when the far end hangs up and the caller cancels this task."""
    gaps = script.gaps_ms()
    while line.started_at is None:  # the transport's first tick starts the media clock
        await asyncio.sleep(0.005)
    for index, turn in enumerate(script.turns):
        audio = script.audio(turn, line.rate)
        note = None
        previous = played[-1].answer_at if played else None
        if turn.barge_in_after_ms is not None and previous is not None:
            start = previous + turn.barge_in_after_ms / 1000
            await asyncio.sleep(max(0.0, start - time.monotonic()))
        else:
            if turn.barge_in_after_ms is not None:
                note = "no answer to barge in on: spoke after the agent's silence instead"
            await line.wait_agent_quiet(script.answer_quiet_ms / 1000, since=line.started_at)
            await asyncio.sleep(gaps[index] / 1000)
        entry = _Played(line.speak(audio), None, note)
        played.append(entry)
        await entry.utterance.done.wait()
        voice_end = entry.utterance.last_voiced_at
        if voice_end is not None:
            entry.answer_at = await line.wait_agent_voice_after(voice_end, script.reply_timeout_s)
        if entry.answer_at is None and entry.note is None:
            entry.note = "no agent audio within reply_timeout_s" if not line.ended.is_set() \
                else "the far end hung up before answering"
    if not line.ended.is_set():
        await line.wait_agent_quiet(script.answer_quiet_ms / 1000, since=time.monotonic())


def results(line: CallerLine, script: Script, played: list[_Played]) -> list[TurnResult]:
    zero = line.started_at or 0.0

    def ms(t: float | None) -> float | None:
        return None if t is None else round((t - zero) * 1000, 1)

    out = []
    for index, (turn, entry) in enumerate(zip(script.turns, played)):
        u = entry.utterance
        v2v = None
        if u is not None and u.last_voiced_at is not None and entry.answer_at is not None:
            v2v = round((entry.answer_at - u.last_voiced_at) * 1000, 1)
        result = TurnResult(
            index=index, wav=str(turn.wav),
            spoke_at_ms=ms(u.first_voiced_at if u else None),
            voice_ended_at_ms=ms(u.last_voiced_at if u else None),
            answer_started_at_ms=ms(entry.answer_at), voice_to_voice_ms=v2v,
            barge_in_after_ms=turn.barge_in_after_ms, note=entry.note,
            last_voiced_frame=u.last_voiced_frame if u else None,
        )
        if turn.barge_in_after_ms is not None and u is not None and u.first_voiced_at:
            stop = line.agent_stop_after(u.first_voiced_at, STOP_QUIET_S)
            if stop is None:
                result.note = result.note or "the agent was already silent when the caller spoke"
            else:
                result.barge_in_stop_ms = round(max(0.0, stop - u.first_voiced_at) * 1000, 1)
        out.append(result)
    return out
