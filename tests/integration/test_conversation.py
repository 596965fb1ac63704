"""A two-turn call on generated speech, through the real local models, at real-time pace."""

from __future__ import annotations

import numpy as np
import pytest

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.session.call import Call
from voxline.session.clock import Mark
from voxline.session.latency import LATENCY_NAMES
from voxline.talk import talk

pytestmark = pytest.mark.models

# The order events must happen in, for a turn that was answered to the end.
ORDER = [
    Mark.SPEECH_START,
    Mark.SPEECH_END,
    Mark.STT_REQUEST,
    Mark.STT_FINAL,
    Mark.LLM_REQUEST,
    Mark.LLM_FIRST_TOKEN,
    Mark.FIRST_CLAUSE,
    Mark.TTS_FIRST_CHUNK,
    Mark.FIRST_AUDIO_OUT,
    Mark.LAST_AUDIO_OUT,
]


async def test_two_turn_conversation(providers, settings, caller_wavs, key_words):
    await providers.warm(CLINIC_SYSTEM_PROMPT)
    names = ["hours", "cleaning"]
    call = Call(providers, settings, transport="file")
    result = await talk(providers, settings, [caller_wavs[n] for n in names], call=call)

    answered = [r for r in result.records if r.outcome == "answered"]
    assert len(answered) == 2, [r.to_dict() for r in result.records]
    for record, name in zip(answered, names):
        transcript = record.transcript.lower()
        for word in key_words[name]:
            assert word in transcript, (word, record.transcript)
        assert record.reply, "the agent said nothing"
        assert record.heard == record.reply and not record.interrupted

        for name_ in LATENCY_NAMES:
            value = record.latency[name_]
            assert value is not None and value >= 0, (name_, record.latency)
        stamps = record.stamps_ms
        times = [stamps[m.value] for m in ORDER]
        assert times == sorted(times), dict(zip([m.value for m in ORDER], times))
        # The endpoint happens after the end of speech, and the audio after the endpoint.
        assert stamps[Mark.SPEECH_END] < stamps[Mark.ENDPOINT] <= stamps[Mark.FIRST_AUDIO_OUT]
        assert stamps[Mark.TTS_REQUEST] <= stamps[Mark.TTS_FIRST_CHUNK]
        # Measured by the file caller from audio: at least the endpoint window.
        assert record.voice_to_voice_ms is not None
        assert record.voice_to_voice_ms >= settings.endpointing.trailing_silence_ms - 40

    # The agent's track holds speech: at least two seconds above -40 dBFS in 20 ms frames.
    samples = np.frombuffer(result.agent_audio, dtype=np.int16).astype(np.float32)
    frames = samples[: len(samples) // 320 * 320].reshape(-1, 320)
    loud = np.sqrt((frames**2).mean(axis=1)) > 0.01 * 32768
    assert loud.sum() * 0.02 > 2.0

    # The context holds both exchanges, in order, with what was said and answered.
    messages = call.conversation.messages()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert messages[1]["content"] == answered[0].transcript
    assert messages[4]["content"] == answered[1].reply
