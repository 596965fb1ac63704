"""Rule 12 of the endpointer: a silence after finished-sounding words ends the turn sooner."""

from __future__ import annotations

import pytest

from voxline.errors import ConfigError
from voxline.vad.endpointing import (
    Endpoint,
    Endpointer,
    EndpointingConfig,
    SilenceStarted,
    SpeechResumed,
)

CFG = EndpointingConfig(min_speech_ms=100, trailing_silence_ms=900, complete_silence_ms=400)


def speak_then_silence(ep: Endpointer, silence_frames: int) -> list[object]:
    events: list[object] = []
    for p in [0.9] * 20 + [0.0] * silence_frames:
        events += ep.process(p)
    return events


def test_shortened_silence_ends_at_the_short_window():
    ep = Endpointer(CFG)
    speak_then_silence(ep, 5)  # 100 ms into the silence
    assert ep.shorten() == []
    assert ep.shortened
    events = []
    for _ in range(20):
        events += ep.process(0.0)
    ends = [e for e in events if isinstance(e, Endpoint)]
    # Speech ended at 400 ms (20 frames); 400 ms of silence later is 800 ms.
    assert ends == [Endpoint(speech_end_ms=400, decided_ms=800, speech_start_ms=0)]
    assert not ep.shortened and not ep.in_speech


def test_shortening_after_the_short_window_has_passed_ends_the_turn_at_once():
    ep = Endpointer(CFG)
    speak_then_silence(ep, 30)  # 600 ms of silence: past 400, short of 900
    assert ep.shorten() == [Endpoint(speech_end_ms=400, decided_ms=1000, speech_start_ms=0)]
    assert not ep.in_speech


def test_unshortened_silence_keeps_the_full_window():
    ep = Endpointer(CFG)
    events = speak_then_silence(ep, 60)
    ends = [e for e in events if isinstance(e, Endpoint)]
    assert ends == [Endpoint(speech_end_ms=400, decided_ms=1300, speech_start_ms=0)]


def test_resumed_speech_forgets_the_short_window():
    ep = Endpointer(CFG)
    speak_then_silence(ep, 5)
    ep.shorten()
    events = [e for p in [0.9] * 3 + [0.0] * 30 for e in ep.process(p)]
    assert any(isinstance(e, SpeechResumed) for e in events)
    assert any(isinstance(e, SilenceStarted) for e in events)
    assert not any(isinstance(e, Endpoint) for e in events)  # 600 ms < 900 ms: still waiting
    assert not ep.shortened


@pytest.mark.parametrize("silence_frames", [0, 60])
def test_shorten_outside_a_silence_does_nothing(silence_frames):
    ep = Endpointer(CFG)
    for p in [0.9] * 20 + [0.0] * silence_frames:  # still speaking, or already endpointed
        ep.process(p)
    assert ep.shorten() == []
    assert not ep.shortened
    assert Endpointer(CFG).shorten() == []  # quiet, nothing said


def test_a_short_window_longer_than_the_full_one_changes_nothing():
    ep = Endpointer(EndpointingConfig(trailing_silence_ms=300, complete_silence_ms=500))
    speak_then_silence(ep, 3)
    ep.shorten()
    assert not ep.shortened
    events = [e for _ in range(15) for e in ep.process(0.0)]
    assert [e.decided_ms - e.speech_end_ms for e in events if isinstance(e, Endpoint)] == [300]


def test_complete_silence_ms_is_validated_and_rounded_to_frames():
    assert EndpointingConfig(complete_silence_ms=510).complete_silence_ms == 520
    with pytest.raises(ConfigError, match="complete_silence_ms"):
        EndpointingConfig(complete_silence_ms=0)
