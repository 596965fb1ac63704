"""The caller harness over the Twilio protocol measures a delay it is told about: a delay agent
answers exactly D ms after the caller's voice ends and stops S ms after a barge-in.

Checked against D and S as injected and against what the agent really put on the wire
(caller_delay_checks)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from caller_delay_checks import check_against_agent

from voxline.audio.wav import write_wav
from voxline.bench.caller import Script, ScriptTurn, place_call
from voxline.bench.caller.delay.twilio_peer import twilio_delay_agent

STOP_MS = 100


def speech_like(path, seconds: float = 0.8, rate: int = 16000):
    """A voiced stretch (a buzz with an envelope) between short silences."""
    t = np.arange(int(seconds * rate)) / rate
    buzz = np.sin(2 * math.pi * 180 * t) + 0.5 * np.sin(2 * math.pi * 360 * t)
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) * 20)
    voice = (buzz * envelope * 0.25 * 32767).astype("<i2")
    pad = np.zeros(int(0.1 * rate), dtype="<i2")
    write_wav(path, np.concatenate([pad, voice, pad]).tobytes(), rate)
    return path


@pytest.fixture
def script(tmp_path):
    short, long = speech_like(tmp_path / "a.wav"), speech_like(tmp_path / "b.wav", 1.2)
    return Script([ScriptTurn(short, pause_ms=300), ScriptTurn(short, pause_ms=200),
                   ScriptTurn(long, barge_in_after_ms=400)], answer_quiet_ms=300)


@pytest.mark.parametrize("delay_ms", [300, 700])
async def test_voice_to_voice_and_barge_in_stop_match_the_injected_delay(script, delay_ms,
                                                                         tmp_path):
    async with twilio_delay_agent(delay_ms, STOP_MS, tone_ms=1500) as agent:
        result = await place_call(agent.url, "twilio", script, record_dir=tmp_path / "rec",
                                  timeout_s=30, twilio_auth_token="token")
    assert result.ended_by == "caller" and result.error is None
    assert [t.answered for t in result.turns] == [True, True, True]
    check_against_agent(result, agent.brains[0], delay_ms, STOP_MS, barge_turn=2)
    assert agent.stops == 1
    assert (tmp_path / "rec" / "heard.wav").stat().st_size > 44
