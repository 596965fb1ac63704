"""The endpointing state machine, driven by probability sequences (20 ms frames)."""

from __future__ import annotations

import pytest

from voxline.errors import ConfigError
from voxline.vad import make_detector
from voxline.vad.endpointing import (
    Endpoint,
    Endpointer,
    EndpointingConfig,
    SilenceStarted,
    SpeechResumed,
    SpeechStarted,
)

CFG = EndpointingConfig(
    threshold=0.5, neg_threshold=0.35, min_speech_ms=100, trailing_silence_ms=200, frame_ms=20
)


def feed(ep: Endpointer, probs: list[float]) -> list[tuple[int, object]]:
    """Events with the index of the frame that produced them."""
    out = []
    for i, p in enumerate(probs):
        out += [(i, ev) for ev in ep.process(p)]
    return out


def test_speech_start_is_back_dated_to_first_voiced_frame():
    ep = Endpointer(CFG)
    events = feed(ep, [0.0] * 10 + [0.9] * 10)
    # Voiced from frame 10 (200 ms); 100 ms of speech is complete at the end of frame 14.
    assert events == [(14, SpeechStarted(start_ms=200))]
    assert ep.in_speech
    assert ep.position_ms == 400


def test_blips_shorter_than_min_speech_are_forgotten():
    ep = Endpointer(CFG)
    blips = ([0.9] * 4 + [0.0] * 3) * 5  # 80 ms voiced runs, 100 ms needed
    assert feed(ep, blips + [0.0] * 20) == []
    assert not ep.in_speech
    # A blip does not count towards the next run: start is the later run's first frame.
    events = feed(ep, [0.9] * 3 + [0.0] + [0.9] * 5)
    assert [ev for _, ev in events] == [SpeechStarted(start_ms=ep.position_ms - 100)]


def test_silence_resume_then_endpoint_back_dated_to_last_voiced_frame():
    ep = Endpointer(CFG)
    probs = [0.0] * 5 + [0.9] * 10 + [0.1] * 5 + [0.8] * 6 + [0.1] * 20
    events = feed(ep, probs)
    assert events == [
        (9, SpeechStarted(start_ms=100)),
        (15, SilenceStarted(speech_end_ms=300)),
        (20, SpeechResumed(at_ms=400)),
        (26, SilenceStarted(speech_end_ms=520)),
        # 200 ms of silence after 520 ms: decided at the end of frame 35 (720 ms).
        (35, Endpoint(speech_end_ms=520, decided_ms=720, speech_start_ms=100)),
    ]
    assert not ep.in_speech
    # After the endpoint a new turn starts normally.
    later = feed(ep, [0.9] * 5)
    assert [ev for _, ev in later] == [SpeechStarted(start_ms=ep.position_ms - 100)]


def test_in_speech_spans_speech_started_to_endpoint():
    ep = Endpointer(CFG)
    seen = []
    for p in [0.9] * 5 + [0.0] * 12:
        ep.process(p)
        seen.append(ep.in_speech)
    # Speech ends at 100 ms; the endpoint is decided at 300 ms, the end of frame 14.
    assert seen == [False] * 4 + [True] * 10 + [False] * 3


def test_hysteresis_keeps_speech_between_thresholds():
    ep = Endpointer(CFG)
    # 0.4 is between neg_threshold and threshold: it continues speech but cannot start it.
    assert feed(ep, [0.4] * 20) == []
    events = feed(ep, [0.9] * 5 + [0.4] * 20 + [0.3])
    kinds = [type(ev) for _, ev in events]
    assert kinds == [SpeechStarted, SilenceStarted]
    assert events[1][1] == SilenceStarted(speech_end_ms=ep.position_ms - 20)
    # Once non-voiced, 0.4 does not resume speech (it must reach threshold again).
    assert feed(ep, [0.4] * 5) == []
    assert [type(ev) for _, ev in feed(ep, [0.5])] == [SpeechResumed]


def test_hysteresis_applies_to_pending_runs():
    ep = Endpointer(CFG)
    # 0.9 then 0.4s: the run stays voiced through 0.4 and is confirmed after 100 ms.
    events = feed(ep, [0.9] + [0.4] * 4)
    assert events == [(4, SpeechStarted(start_ms=0))]


def test_reset_forgets_position_and_speech():
    ep = Endpointer(CFG)
    feed(ep, [0.9] * 10 + [0.0] * 3)
    assert ep.in_speech
    ep.reset()
    assert ep.position_ms == 0 and not ep.in_speech
    assert feed(ep, [0.0] * 30) == []  # no endpoint from the forgotten turn
    ep.reset()
    assert feed(ep, [0.4] * 10) == []  # hysteresis memory is gone too
    assert feed(ep, [0.9] * 5)[0][1] == SpeechStarted(start_ms=200)


def test_nan_probability_is_not_voiced():
    ep = Endpointer(CFG)
    assert feed(ep, [float("nan")] * 10) == []
    assert ep.position_ms == 200


def test_one_frame_windows_emit_start_and_endpoint_on_the_same_frame_edge():
    cfg = EndpointingConfig(min_speech_ms=20, trailing_silence_ms=20)
    ep = Endpointer(cfg)
    assert ep.process(0.9) == [SpeechStarted(0)]
    assert ep.process(0.0) == [SilenceStarted(20), Endpoint(20, 40, 0)]


def test_default_config_is_the_measured_choice():
    cfg = EndpointingConfig()
    assert (cfg.threshold, cfg.neg_threshold, cfg.frame_ms) == (0.5, 0.35, 20)
    assert cfg.min_speech_ms == 200
    assert 200 <= cfg.trailing_silence_ms <= 1200 and cfg.trailing_silence_ms % 20 == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"neg_threshold": 0.6},  # above threshold
        {"neg_threshold": 0.0},
        {"min_speech_ms": 0},
        {"trailing_silence_ms": -100},
        {"trailing_silence_ms": float("inf")},
        {"frame_ms": 0},
    ],
)
def test_config_rejects_impossible_values(kwargs):
    with pytest.raises(ConfigError):
        EndpointingConfig(**kwargs)


def test_config_rounds_durations_to_whole_frames():
    cfg = EndpointingConfig(min_speech_ms=190, trailing_silence_ms=505, frame_ms=20)
    assert (cfg.min_speech_ms, cfg.trailing_silence_ms) == (200, 500)
    assert EndpointingConfig(min_speech_ms=3).min_speech_ms == 20  # at least one frame
    assert EndpointingConfig(trailing_silence_ms=250, frame_ms=30).trailing_silence_ms == 240


def test_make_detector_names_valid_choices():
    with pytest.raises(ConfigError, match="silero, webrtc"):
        make_detector("cobra")
