"""SIP audio hands every 20 ms packet on at once: one in, one out (soxr's stream resampler held
8 <-> 16 kHz audio back and released it in ~100 ms bursts)."""

import numpy as np

from voxline.transports.sip.audio import G711, ToEngine, ToWire


def tone(rate: int, ms: int) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


def test_each_packet_in_gives_one_engine_frame_at_once_at_the_wire_rate():
    to_engine = ToEngine()
    pcm = tone(8000, 200)
    for i in range(10):
        packet = pcm[i * 320 : (i + 1) * 320]
        assert to_engine.push(packet) == [packet]  # 20 ms at 8 kHz, as it came


def test_odd_packet_sizes_come_out_as_whole_20ms_frames():
    to_engine = ToEngine()
    pcm = tone(8000, 200)
    frames = to_engine.push(pcm[:500]) + to_engine.push(pcm[500:1300]) + to_engine.push(pcm[1300:])
    assert [len(f) for f in frames] == [320] * 10 and b"".join(frames) == pcm


def test_each_engine_frame_gives_one_packet_at_once_and_flush_pads_nothing_extra():
    to_wire = ToWire(G711("PCMU"))
    pcm = tone(16000, 200)
    for i in range(10):
        packets = to_wire.push(pcm[i * 640 : (i + 1) * 640])
        assert [len(p) for p in packets] == [160]
    tail = to_wire.flush()
    assert [len(p) for p in tail] == [160]  # the filter's 1.9 ms, padded to one packet
