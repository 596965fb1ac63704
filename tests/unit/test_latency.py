from voxline.session.clock import CallClock, Mark
from voxline.session.latency import turn_latencies, waterfall

MS = 1_000_000


def fake_clock(times):
    it = iter(times)
    return CallClock(now_ns=lambda: next(it))


def test_first_stamp_wins_and_explicit_times_are_kept():
    clock = fake_clock([0, 5 * MS, 9 * MS])
    stamps = clock.turn()
    assert stamps.stamp(Mark.LLM_FIRST_TOKEN) == 5 * MS
    assert stamps.stamp(Mark.LLM_FIRST_TOKEN) == 5 * MS  # the clock is not even read again
    assert stamps.stamp(Mark.SPEECH_END, at_ns=1 * MS) == 1 * MS
    assert stamps.as_dict() == {"llm_first_token": 5 * MS, "speech_end": 1 * MS}


def test_turn_latencies_use_the_design_names_and_endpoints():
    stamps = {
        "speech_end": 1000 * MS,
        "stt_request": 1020 * MS,
        "stt_final": 1400 * MS,
        "endpoint": 1900 * MS,
        "llm_request": 1401 * MS,
        "llm_first_token": 1650 * MS,
        "first_clause": 1800 * MS,
        "tts_request": 1800 * MS,
        "tts_first_chunk": 1950 * MS,
        "first_audio_out": 1960 * MS,
    }
    figures = turn_latencies(stamps)
    assert figures["endpoint_delay_ms"] == 900
    assert figures["stt_latency_ms"] == 0  # speculative STT finished before the endpoint
    assert figures["stt_compute_ms"] == 380
    assert figures["llm_first_token_ms"] == 249
    assert figures["tts_first_chunk_ms"] == 150
    assert figures["turn_latency_ms"] == 60
    assert figures["first_clause_ms"] == 399
    assert figures["barge_in_stop_ms"] is None  # no barge-in in this turn


def test_late_stt_counts_from_the_endpoint():
    figures = turn_latencies({"endpoint": 100 * MS, "stt_final": 350 * MS})
    assert figures["stt_latency_ms"] == 250
    assert figures["turn_latency_ms"] is None


def test_waterfall_is_relative_to_the_end_of_speech():
    rows = waterfall(
        {"speech_end": 500 * MS, "endpoint": 1400 * MS, "stt_request": 520 * MS,
         "stt_final": 900 * MS}
    )
    assert rows == [("endpoint", 0.0, 900.0), ("stt", 20.0, 400.0)]
    assert waterfall({"endpoint": 1}) == []
