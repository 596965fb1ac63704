"""Adaptive endpointing in the turn engine: the speculative transcript decides the window."""

from __future__ import annotations

import pytest
from test_call_engine import QUIET, SPEECH, EnergyVad, ScriptedLLM, ScriptedSTT, ToneTTS, run

from voxline.config import Settings
from voxline.providers.registry import Providers
from voxline.session.call import Call


def make_call(text: str, adaptive: bool = True) -> Call:
    endpointing = {"trailing_silence_ms": 600, "complete_silence_ms": 200, "min_speech_ms": 40,
                   "adaptive": adaptive}
    settings = Settings(endpointing=endpointing)
    providers = Providers(ScriptedSTT([text]), ScriptedLLM("Sure."), ToneTTS())
    return Call(providers, settings, transport="test", vad=EnergyVad())


async def endpoint_delay(call: Call) -> float:
    async def script(line):
        await line.send(SPEECH, 20)
        await line.until_quiet()

    await run(call, script)
    [record] = call.records
    return record.latency["endpoint_delay_ms"]


@pytest.mark.parametrize(
    "text, adaptive, window",
    [
        ("Are you open on Saturday?", True, 200),  # finished: the short window
        ("I'd like to book a cleaning for the", True, 600),  # unfinished: the full window
        ("Are you open on Saturday?", False, 600),  # adaptive off: always the full window
    ],
)
async def test_the_transcript_picks_the_window(text, adaptive, window):
    delay = await endpoint_delay(make_call(text, adaptive))
    # The endpointer's own share is exact; the clock adds at most a frame of scheduling.
    assert window <= delay < window + 60


async def test_speech_resumed_after_a_finished_sounding_pause_keeps_the_turn_going():
    call = make_call("")
    call.providers.stt.texts = ["Yes.", "Yes, and my son too."]

    async def script(line):
        await line.send(SPEECH, 20)
        await line.send(QUIET, 5)  # 100 ms: under the 200 ms short window
        await line.send(SPEECH, 20)
        await line.until_quiet()

    await run(call, script)
    assert [r.transcript for r in call.records] == ["Yes, and my son too."]
    assert call.speculative_turns_dropped == 1
