"""The exact WebRTC overhead: joined by the call id, exact only for calls that lost nothing."""

import pytest

from voxline.bench.scenario.webrtc_overhead import webrtc_overheads


def caller_turn(first_media_at, frame=50, t0=8.0):
    # The mic handed frame `frame` (its last voice) to the sender at t0, one frame per 20 ms on.
    return {"last_voiced_frame": frame, "first_media_at": first_media_at,
            "sends_after_voice": [t0 + 0.02 * k for k in range(150)]}


def record(call_id, speech_end=1120, endpoint=1720):
    return {"call_id": call_id, "transport_ref": None,
            "audio_ms": {"speech_end": speech_end, "endpoint": endpoint},
            "stamps_ms": {"tts_first_chunk": 500.0, "endpoint": 900.0}}


def test_a_call_that_lost_nothing_is_timed_from_the_packet_that_completed_the_window():
    # Endpoint decided at 1720 ms of engine frames: packet 85 completed it, 35 after the voice.
    results = [{"call_id": "abc", "inbound_lost": 0,
                "turns": [caller_turn(first_media_at=8.0 + 35 * 0.02 + 0.0042)]}]
    figures, method = webrtc_overheads(results, [record("abc")], [250.0])
    assert figures == [pytest.approx(4.2)] and method == "exact"


def test_calls_are_joined_by_the_webrtc_call_id():
    results = [{"call_id": "other", "inbound_lost": 0,
                "turns": [caller_turn(first_media_at=8.71)]}]
    figures, method = webrtc_overheads(results, [record("abc")], [250.0])
    assert figures == [None] and method == "exact"  # no record of that call: not guessed


@pytest.mark.parametrize("lost", [3, None])
def test_a_call_with_lost_or_unknown_packets_falls_back_to_the_estimate_and_says_so(lost):
    results = [{"call_id": "abc", "inbound_lost": 0, "turns": [caller_turn(8.71)]},
               {"call_id": "def", "inbound_lost": lost,
                "turns": [caller_turn(8.71), caller_turn(9.0)]}]
    figures, method = webrtc_overheads(results, [record("abc"), record("def")],
                                       [250.0, 240.0, None])
    assert figures == [pytest.approx(10.0), 240.0, None]
    assert method == "exact; estimate for 1 turns of calls that lost packets"
