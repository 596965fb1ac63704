"""The exact caller-side overhead: matching the worker's turn and timing from the frame that
completed the endpoint."""

import pytest

from voxline.bench.scenario.exact_overhead import exact_overheads, turn_overhead


def caller_turn(frame=50, first_media_at=10.0, t0=8.0):
    # The caller sent frame `frame` (its last voiced sample) at t0, and one frame per 20 ms on.
    return {"last_voiced_frame": frame, "first_media_at": first_media_at,
            "sends_after_voice": [t0 + 0.02 * k for k in range(150)]}


def record(speech_end, endpoint, ref="CA1", tts=500.0, at_endpoint=900.0):
    return {"transport_ref": ref, "audio_ms": {"speech_end": speech_end, "endpoint": endpoint},
            "stamps_ms": {"tts_first_chunk": tts, "endpoint": at_endpoint}}


def test_it_times_from_the_send_of_the_frame_that_completed_the_window():
    # Voice ended in frame 50 (audio 1000-1020 ms); the worker heard speech end at 1120 ms
    # and decided at 1720 ms: frame 85 completed it, 35 frames after the voiced one.
    turn = caller_turn(first_media_at=8.0 + 35 * 0.02 + 0.0123)
    assert turn_overhead(turn, [record(1120, 1720)]) == pytest.approx(12.3)


def test_provider_time_left_after_the_endpoint_is_not_voxlines():
    turn = caller_turn(first_media_at=8.0 + 35 * 0.02 + 0.100)
    late = record(1120, 1720, tts=980.0, at_endpoint=900.0)  # TTS came 80 ms after the endpoint
    assert turn_overhead(turn, [late]) == pytest.approx(20.0)


def test_the_worker_turn_nearest_the_voice_end_is_the_one_matched():
    turn = caller_turn(first_media_at=8.0 + 35 * 0.02 + 0.010)
    other = record(5000, 5600)  # a later turn of the same call
    assert turn_overhead(turn, [other, record(1120, 1720)]) == pytest.approx(10.0)
    assert turn_overhead(turn, [other]) is None  # nothing within reach: not guessed


def test_calls_are_joined_by_transport_id_and_gaps_stay_none():
    results = [{"call_sid": "CA1", "turns": [caller_turn(first_media_at=8.71)]},
               {"call_sid": "CA2", "turns": [caller_turn(first_media_at=8.71)]},
               {"turns": [{"voice_to_voice_ms": 700.0}]}]  # a caller that cannot be timed
    figures = exact_overheads(results, [record(1120, 1720, ref="CA1")])
    assert figures[0] == pytest.approx(10.0) and figures[1:] == [None, None]
