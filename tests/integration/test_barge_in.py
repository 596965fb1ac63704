"""Barge-in: the caller talks over the agent's answer."""

from __future__ import annotations

import numpy as np
import pytest

from voxline.agent.context import INTERRUPTED_MARKER
from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.session.call import Call
from voxline.session.clock import Mark
from voxline.talk import talk

pytestmark = pytest.mark.models

LONG_ANSWERS = (
    CLINIC_SYSTEM_PROMPT
    + " Whatever the caller asks, first list every service and every open slot in full."
)


def _words(text: str) -> list[str]:
    return [w.strip(".,;:!?").lower() for w in text.split()]


def _loud(frame: bytes) -> bool:
    samples = np.frombuffer(frame, dtype=np.int16).astype(np.float32)
    return bool(np.sqrt((samples**2).mean()) > 0.01 * 32768)


async def test_barge_in_stops_audio_within_a_frame_and_truncates_context(
    providers, settings, caller_wavs
):
    await providers.warm(LONG_ANSWERS)
    call = Call(providers, settings, transport="file", system_prompt=LONG_ANSWERS)
    # The second utterance starts 1.5 s into the agent's answer to the first.
    result = await talk(
        providers,
        settings,
        [caller_wavs["hours"], caller_wavs["wednesday"]],
        call=call,
        barge_in_after_ms={1: 1500},
    )

    interrupted = [r for r in result.records if r.outcome == "interrupted"]
    assert len(interrupted) == 1, [r.to_dict() for r in result.records]
    record = interrupted[0]

    # Server side: from the barge-in decision to the last agent frame handed out.
    assert record.latency["barge_in_stop_ms"] is not None
    assert record.latency["barge_in_stop_ms"] <= 20
    assert Mark.BARGE_IN_DETECTED.value in record.stamps_ms

    # Caller side: the agent's track was loud just before the barge-in, silent right after.
    barge_tick = next(t for t, kind in result.events if kind == "barge_in")
    frame_bytes = 640
    track = result.agent_audio
    frames = [track[i : i + frame_bytes] for i in range(0, len(track), frame_bytes)]
    before = frames[barge_tick - 50 : barge_tick]  # the second before (clauses have pauses)
    after = frames[barge_tick + 1 : barge_tick + 26]  # 500 ms: the caller is still talking
    assert sum(_loud(f) for f in before) >= 5, "the agent was not speaking before the barge-in"
    assert not any(_loud(f) for f in after), "agent audio continued after the barge-in"

    # The context holds only what the caller heard of the cut answer, marked as interrupted.
    assert record.interrupted and record.reply
    heard_words, reply_words = _words(record.heard), _words(record.reply)
    assert 0 < len(heard_words) < len(reply_words)
    n = min(3, len(heard_words))  # what was heard is how the reply began
    assert reply_words[:n] == heard_words[:n]
    assistant = [m for m in call.conversation.messages() if m["role"] == "assistant"]
    assert assistant[0]["content"].endswith(INTERRUPTED_MARKER.strip())
    assert assistant[0]["content"].removesuffix(INTERRUPTED_MARKER) == record.heard

    # The interruption itself was answered.
    later = [r for r in result.records if r.index > record.index and r.outcome == "answered"]
    assert later and "wednesday" in later[0].transcript.lower()
