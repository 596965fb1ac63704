"""The adaptive jitter buffer: reordering, loss concealment, bounded and adaptive delay.
Property tests shuffle and drop packets and check that what plays is in order, each frame at
most once, and the delay stays bounded."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxline.protocols.rtp.jitter import COMFORT_NOISE_RMS, JitterBuffer

FRAME = 0.02


def frame(n: int) -> bytes:
    """A recognisable 20 ms frame: every sample holds n."""
    return np.full(160, n, dtype="<i2").tobytes()


def label(pcm: bytes) -> int:
    return int(np.frombuffer(pcm, dtype="<i2")[0])


def test_in_order_packets_play_in_order_after_the_start_delay():
    jb = JitterBuffer()
    for i in range(5):
        jb.push(100 + i, i * 160, frame(i + 1), i * FRAME)
    played = [jb.pop() for _ in range(5)]
    assert [p.kind for p in played] == ["audio"] * 5
    assert [label(p.pcm) for p in played] == [1, 2, 3, 4, 5]


def test_packets_swapped_in_flight_play_in_sequence_order():
    jb = JitterBuffer(min_frames=2)
    order = [0, 2, 1, 3, 5, 4]
    for i in order:
        jb.push(i, i * 160, frame(i + 1), len(order) * FRAME)
    assert [label(jb.pop().pcm) for _ in order] == [1, 2, 3, 4, 5, 6]


def test_a_lost_packet_is_concealed_by_a_fading_repeat_then_comfort_noise():
    jb = JitterBuffer()
    jb.push(0, 0, frame(1000), 0.0)
    for seq in (4, 5):
        jb.push(seq, seq * 160, frame(seq), 0.0)
    kinds = []
    for _ in range(6):
        played = jb.pop()
        kinds.append((played.kind, label(played.pcm) if played.kind != "comfort" else None))
    assert kinds == [("audio", 1000), ("concealed", 700), ("concealed", 400), ("comfort", None),
                     ("audio", 4), ("audio", 5)]
    assert (jb.stats.concealed, jb.stats.comfort) == (2, 1)


def test_comfort_noise_is_faint():
    jb = JitterBuffer()
    jb.push(0, 0, frame(0), 0.0)
    jb.pop()
    for _ in range(3):
        played = jb.pop()
    rms = np.sqrt(np.mean(np.frombuffer(played.pcm, dtype="<i2").astype(float) ** 2))
    assert played.kind == "comfort" and 0 < rms < 3 * COMFORT_NOISE_RMS


def test_an_underrun_holds_the_playout_point_so_a_late_packet_still_plays():
    jb = JitterBuffer()
    jb.push(0, 0, frame(1), 0.0)
    assert jb.pop().kind == "audio"
    assert jb.pop().kind == "concealed"  # seq 1 is late, not yet lost
    jb.push(1, 160, frame(2), 0.05)
    assert label(jb.pop().pcm) == 2
    jb.push(1, 160, frame(2), 0.06)
    assert jb.stats.late == 1  # its slot has played now


def test_duplicates_are_dropped_and_counted():
    jb = JitterBuffer()
    assert jb.push(7, 0, frame(1), 0.0)
    assert not jb.push(7, 0, frame(1), 0.001)
    assert jb.stats.duplicates == 1


def test_the_delay_is_bounded_by_max_frames():
    jb = JitterBuffer(max_frames=5)
    for i in range(40):  # a burst after a stall: 800 ms arrives at once
        jb.push(i, i * 160, frame(i), 1.0)
    assert jb.depth_frames <= 5
    assert jb.stats.dropped >= 35
    assert label(jb.pop().pcm) >= 35  # playout resumed near the newest audio


def test_the_target_grows_with_jitter_and_stays_small_without_it():
    steady, jittery = JitterBuffer(), JitterBuffer()
    rng = random.Random(4)
    for i in range(200):
        steady.push(i, i * 160, frame(i), i * FRAME)
        jittery.push(i, i * 160, frame(i), i * FRAME + rng.uniform(0, 0.06))
    assert steady.target_frames == 1
    assert jittery.jitter_ms > 10
    assert 2 < jittery.target_frames <= jittery.max_frames


def test_a_queue_that_stays_above_target_shrinks():
    jb = JitterBuffer(max_frames=10)
    for i in range(8):
        jb.push(i, i * 160, frame(i), i * FRAME)  # 8 frames queued, target 1
    seq = 8
    for _ in range(60):
        jb.pop()
        jb.push(seq, seq * 160, frame(seq), seq * FRAME)
        seq += 1
    assert jb.stats.dropped >= 2
    assert jb.depth_frames < 8


def test_a_sequence_jump_resyncs_instead_of_concealing_the_whole_gap():
    jb = JitterBuffer(max_frames=5)
    jb.push(0, 0, frame(1), 0.0)
    jb.pop()
    jb.push(3000, 3000 * 160, frame(2), 60.0)
    assert label(jb.pop().pcm) == 2
    assert jb.stats.resyncs == 1


def test_slots_without_audio_play_as_silence_not_concealment():
    jb = JitterBuffer()
    jb.push(0, 0, frame(1), 0.0)
    jb.push(1, 160, None, 0.02)  # a DTMF packet in the audio's sequence space
    jb.push(2, 320, frame(3), 0.04)
    assert [jb.pop().kind for _ in range(3)] == ["audio", "silence", "audio"]
    assert jb.stats.concealed == 0


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(5, 120),
    start=st.integers(0, 65535),
    loss=st.floats(0, 0.3),
    swaps=st.integers(0, 40),
    seed=st.integers(0, 2**16),
)
def test_reordered_and_lossy_streams_play_in_order_at_most_once_with_bounded_delay(
    count, start, loss, swaps, seed
):
    rng = random.Random(seed)
    jb = JitterBuffer(max_frames=8, seed=seed)
    sent = [i for i in range(count) if rng.random() >= loss]
    arrivals = list(sent)
    for _ in range(swaps):  # neighbours swapped in flight
        if len(arrivals) > 1:
            k = rng.randrange(len(arrivals) - 1)
            arrivals[k], arrivals[k + 1] = arrivals[k + 1], arrivals[k]
    played: list[int] = []
    for step, i in enumerate(arrivals):
        jb.push((start + i) & 0xFFFF, i * 160, frame(i + 1), step * FRAME)
        assert jb.depth_frames <= jb.max_frames
        out = jb.pop()
        if out.kind == "audio":
            played.append(label(out.pcm) - 1)
    for _ in range(jb.max_frames + 2):
        out = jb.pop()
        if out.kind == "audio":
            played.append(label(out.pcm) - 1)
    assert played == sorted(played)  # in order
    assert len(played) == len(set(played))  # each at most once
    assert set(played) <= set(sent)  # nothing invented
    late_or_dropped = jb.stats.late + jb.stats.dropped
    assert len(played) + late_or_dropped == len(sent)  # nothing silently lost
