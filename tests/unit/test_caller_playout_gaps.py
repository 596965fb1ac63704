"""Gaps of a continuous stream (WebRTC), replayed from frame arrivals through the callers'
playout buffer: late audio is a gap, the agent's silence between answers is not."""

from __future__ import annotations

from voxline.bench.caller.playout import gaps_of_arrivals


def paced(start: float, frames: int, audible: bool = True) -> list[tuple[float, bool]]:
    return [(start + i * 0.02, audible) for i in range(frames)]


def test_audio_arriving_on_time_has_no_gaps():
    assert gaps_of_arrivals(paced(10.0, 200)) == (0, 0)
    assert gaps_of_arrivals([]) == (0, 0)


def test_silence_between_answers_is_not_a_gap():
    stream = paced(10.0, 100) + paced(12.0, 50, audible=False) + paced(13.0, 100)
    assert gaps_of_arrivals(stream) == (0, 0)


def test_a_stall_mid_answer_is_one_gap_as_long_as_the_buffer_ran_dry():
    stream = paced(10.0, 50)
    stream += [(11.0 + 0.1 + i * 0.001, True) for i in range(5)]  # 100 ms late, then a burst
    stream += paced(11.2, 50)
    gaps, underrun_ms = gaps_of_arrivals(stream)
    assert gaps == 1
    assert 40 <= underrun_ms <= 100  # 100 ms late less the 40 ms the buffer held, to a tick
