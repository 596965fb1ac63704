"""The in-order receiver (protocols/rtp/in_order.py): caller packets handed on as they arrive,
gaps waited for a bounded time and concealed, late and duplicate packets dropped, fills while
nothing arrives. A property test shuffles and drops packets and checks the engine's side."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxline.protocols.rtp.in_order import (
    GAP_WAIT_S,
    QUIET_STALL_AFTER_S,
    STALL_AFTER_S,
    InOrderReceiver,
)

FRAME = 0.02
SSRC = 0x1234


def frame(n: int) -> bytes:
    """A recognisable 20 ms frame: every sample holds n."""
    return np.full(160, n, dtype="<i2").tobytes()


def label(pcm: bytes) -> int:
    return int(np.frombuffer(pcm, dtype="<i2")[0])


def audio(played) -> list[int]:
    return [label(p.pcm) for p in played if p.kind == "audio"]


def test_in_order_packets_come_out_the_moment_they_arrive():
    rx = InOrderReceiver()
    for i in range(5):
        out = rx.push(100 + i, SSRC, frame(i + 1), i * FRAME)
        assert [(p.kind, label(p.pcm)) for p in out] == [("audio", i + 1)]
    assert rx.tick(4 * FRAME + 0.01) == []  # nothing due: no fill, no concealment
    assert rx.stats.released == 5 and rx.stats.concealed == rx.stats.filled == 0


def test_a_packet_reordered_within_the_wait_fills_its_slot_and_releases_the_queue():
    rx = InOrderReceiver()
    assert audio(rx.push(0, SSRC, frame(1), 0.0)) == [1]
    assert rx.push(2, SSRC, frame(3), 0.02) == []  # 1 is missing: 2 waits
    assert rx.push(3, SSRC, frame(4), 0.03) == []
    assert rx.tick(0.02 + GAP_WAIT_S / 2) == []  # still within the wait
    assert audio(rx.push(1, SSRC, frame(2), 0.035)) == [2, 3, 4]
    assert rx.stats.concealed == 0 and rx.waiting == 0


def test_a_lost_packet_is_concealed_after_the_bounded_wait_and_the_clock_keeps_time():
    rx = InOrderReceiver()
    rx.push(0, SSRC, frame(1000), 0.0)
    rx.push(2, SSRC, frame(3), 0.04)
    rx.push(3, SSRC, frame(4), 0.06)
    assert rx.deadline() == 0.04 + GAP_WAIT_S
    out = rx.tick(0.04 + GAP_WAIT_S)
    assert [p.kind for p in out] == ["concealed", "audio", "audio"]
    assert label(out[0].pcm) == 700  # the last frame at 0.7 gain
    assert audio(out) == [3, 4] and rx.stats.concealed == 1


def test_a_packet_after_its_slot_was_concealed_is_late_and_a_second_copy_a_duplicate():
    rx = InOrderReceiver()
    rx.push(0, SSRC, frame(1), 0.0)
    rx.push(2, SSRC, frame(3), 0.02)
    rx.tick(0.02 + GAP_WAIT_S)
    assert rx.push(1, SSRC, frame(2), 0.1) == []  # too late: slot 1 was concealed
    assert rx.push(2, SSRC, frame(3), 0.1) == []
    assert rx.stats.late == 1 and rx.stats.duplicates == 1
    rx.push(4, SSRC, frame(5), 0.11)
    assert rx.push(4, SSRC, frame(5), 0.11) == []  # queued twice
    assert rx.stats.duplicates == 2


def test_sequence_numbers_wrap():
    rx = InOrderReceiver()
    seqs = [0xFFFE, 0xFFFF, 0, 1]
    out = []
    out += rx.push(seqs[0], SSRC, frame(1), 0.0)
    out += rx.push(seqs[2], SSRC, frame(3), 0.02)  # across the wrap, one early
    out += rx.push(seqs[1], SSRC, frame(2), 0.03)
    out += rx.push(seqs[3], SSRC, frame(4), 0.04)
    assert audio(out) == [1, 2, 3, 4] and rx.stats.concealed == 0


def test_a_new_ssrc_releases_what_waited_and_starts_over_from_its_first_packet():
    rx = InOrderReceiver()
    rx.push(10, SSRC, frame(1), 0.0)
    rx.push(12, SSRC, frame(3), 0.02)  # waiting behind 11
    out = rx.push(5000, 0x9999, frame(7), 0.03)
    assert [p.kind for p in out] == ["concealed", "audio", "audio"]
    assert audio(out) == [3, 7] and rx.stats.resyncs == 1
    assert audio(rx.push(5001, 0x9999, frame(8), 0.05)) == [8]


def test_a_caller_who_stops_sending_gets_fills_at_the_packet_rate_then_resumes_at_once():
    rx = InOrderReceiver()
    rx.push(0, SSRC, frame(100), 0.0)
    assert rx.tick(FRAME + STALL_AFTER_S - 0.001) == []
    kinds = []
    t = FRAME + STALL_AFTER_S
    while t < 1.0:  # one tick per 20 ms for ~0.9 s
        kinds += [p.kind for p in rx.tick(t)]
        t += FRAME
    assert kinds[:2] == ["concealed", "concealed"] and set(kinds[2:]) == {"comfort"}
    assert (1.0 - FRAME - STALL_AFTER_S) / FRAME - 1 <= len(kinds) <= (
        1.0 - FRAME - STALL_AFTER_S) / FRAME + 1  # one a tick: no flood
    # DTX: the caller resumes with the next sequence number: played, nothing lost
    assert audio(rx.push(1, SSRC, frame(2), 1.0)) == [2]
    assert rx.stats.late == 0 and rx.stats.concealed == 0


def test_fills_stand_in_for_a_burst_lost_while_nothing_arrived():
    rx = InOrderReceiver()
    rx.push(0, SSRC, frame(1), 0.0)
    t = 0.0
    filled = 0
    while t < 0.4:
        t += FRAME
        filled += len(rx.tick(t))
    assert filled >= 3
    out = rx.push(1 + filled, SSRC, frame(9), t)  # the packets in between were lost
    assert audio(out) == [9] and len(out) == 1  # released at once, not concealed again
    assert rx.stats.covered == filled and rx.stats.concealed == 0
    assert rx.push(1, SSRC, frame(2), t) == [] and rx.stats.late == 1


def test_a_stalled_loop_does_not_burst_fills():
    rx = InOrderReceiver()
    rx.push(0, SSRC, frame(1), 0.0)
    assert len(rx.tick(5.0)) <= 3
    assert len(rx.tick(5.0)) == 0  # the schedule went on from now
    assert len(rx.tick(5.0 + FRAME)) == 1


def test_a_jump_past_max_gap_is_a_resync_not_a_second_of_concealment():
    rx = InOrderReceiver(max_gap=50)
    rx.push(0, SSRC, frame(1), 0.0)
    out = rx.push(1000, SSRC, frame(2), 0.02)
    assert audio(out) == [2] and len(out) == 1 and rx.stats.resyncs == 1
    out = rx.push(30, SSRC, frame(3), 0.04)  # far behind: the sender started over again
    assert audio(out) == [3] and rx.stats.resyncs == 2


def test_slots_without_audio_are_one_interval_of_silence_and_the_queue_is_bounded():
    rx = InOrderReceiver(max_queued=4)
    out = rx.push(0, SSRC, None, 0.0)  # a telephone-event packet
    assert [p.kind for p in out] == ["silence"] and out[0].pcm == bytes(320)
    for seq in range(2, 7):  # 1 never comes: five packets wait, one more than allowed
        out = rx.push(seq, SSRC, frame(seq), 0.02 * seq)
    assert out[0].kind == "comfort"  # after silence, a loss is not a repeat
    assert audio(out) == [2, 3, 4, 5, 6] and rx.waiting == 0


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 0xFFFF), st.randoms(use_true_random=False),
       st.floats(0.0, 0.3), st.integers(0, 3))
def test_shuffled_and_dropped_packets_come_out_in_order_once_with_bounded_delay(
        first, rnd: random.Random, loss: float, swap: int):
    rx = InOrderReceiver()
    n = 60
    arrivals = []
    for i in range(n):
        if i and rnd.random() < loss:
            continue
        arrivals.append((i * FRAME + rnd.uniform(0, swap * FRAME), i))
    arrivals.sort()
    released: list[tuple[int, float]] = []  # (label, when)
    sent_at = {i + 1: i * FRAME for i in range(n)}
    t, k = 0.0, 0
    while t < n * FRAME + 1.0:
        while k < len(arrivals) and arrivals[k][0] <= t:
            at, i = arrivals[k]
            released += [(label(p.pcm), at) for p in rx.push((first + i) & 0xFFFF, SSRC,
                                                              frame(i + 1), at)
                         if p.kind == "audio"]
            k += 1
        released += [(label(p.pcm), t) for p in rx.tick(t) if p.kind == "audio"]
        t += 0.005
    labels = [x for x, _ in released]
    assert labels == sorted(labels) and len(labels) == len(set(labels))
    for x, when in released:  # never later than its arrival + the wait + one tick
        assert when - sent_at[x] <= swap * FRAME + GAP_WAIT_S + 0.006


def test_after_comfort_noise_fills_start_sooner_than_after_speech():
    rx = InOrderReceiver()
    rx.push(0, SSRC, frame(1), 0.0)
    assert rx.tick(FRAME + QUIET_STALL_AFTER_S + 0.01) == []  # speech stopped: wait longer
    rx.push(1, SSRC, None, 0.1)  # a comfort-noise packet: the sender went quiet
    assert len(rx.tick(0.1 + FRAME + QUIET_STALL_AFTER_S)) == 1
