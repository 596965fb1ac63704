"""20 ms framing and PCM16 conversions."""

from __future__ import annotations

import random

import numpy as np
import pytest

from voxline.audio.frames import (
    ENGINE_RATE,
    FRAME_MS,
    SAMPLE_WIDTH,
    FrameSplitter,
    frame_bytes,
    frames_of,
    samples_per_frame,
    silence,
)
from voxline.audio.pcm import duration_ms, mix_to_mono, rms_dbfs, to_float, to_pcm16


def test_constants_and_sizes() -> None:
    assert (ENGINE_RATE, FRAME_MS, SAMPLE_WIDTH) == (16000, 20, 2)
    assert samples_per_frame(8000) == 160
    assert samples_per_frame(16000) == 320
    assert samples_per_frame(44100) == 882
    assert frame_bytes(48000) == 1920


def test_rate_without_whole_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="11025"):
        samples_per_frame(11025)
    with pytest.raises(ValueError):
        frame_bytes(0)


def test_silence() -> None:
    assert silence(8000) == bytes(320)
    assert silence(16000, 100) == bytes(3200)
    assert silence(16000, 0) == b""


@pytest.mark.parametrize("chunk_sizes", [[1], [3, 7, 641], [639, 1, 1, 2000], [5000], [641, 639]])
def test_splitter_across_odd_chunks(chunk_sizes: list[int]) -> None:
    rng = random.Random(7)
    data = bytes(rng.getrandbits(8) for _ in range(10_001))  # odd total: ends mid-sample
    fb = frame_bytes(16000)
    splitter = FrameSplitter(16000)
    frames: list[bytes] = []
    pos, i = 0, 0
    while pos < len(data):
        size = chunk_sizes[i % len(chunk_sizes)]
        frames += splitter.push(data[pos : pos + size])
        pos += size
        i += 1
    assert all(len(f) == fb for f in frames)
    assert len(frames) == len(data) // fb
    assert b"".join(frames) == data[: len(frames) * fb]
    tail = splitter.flush()
    rest = data[len(frames) * fb :]
    assert tail == rest + bytes(fb - len(rest))
    assert splitter.flush() is None


def test_splitter_exact_frames_leave_nothing() -> None:
    splitter = FrameSplitter(8000)
    assert splitter.push(b"") == []
    assert splitter.push(bytes(319)) == []
    out = splitter.push(bytes(321))
    assert out == [bytes(320), bytes(320)]
    assert splitter.flush() is None
    # Reusable after flush.
    assert splitter.push(b"\x01" * 10) == []
    assert splitter.flush() == b"\x01" * 10 + bytes(310)


def test_frames_of_pads_last_frame() -> None:
    fb = frame_bytes(16000)
    data = bytes(range(256)) * 11  # 2816 bytes = 4 frames of 640 + 256 bytes
    frames = list(frames_of(data, 16000))
    assert len(frames) == 5
    assert all(len(f) == fb for f in frames)
    assert b"".join(frames)[: len(data)] == data
    assert frames[-1][len(data) - 4 * fb :] == bytes(5 * fb - len(data))
    assert list(frames_of(b"", 16000)) == []
    assert list(frames_of(bytes(fb), 16000)) == [bytes(fb)]


def test_float_round_trip_is_exact_for_every_int16() -> None:
    pcm = np.arange(-32768, 32768, dtype="<i2").tobytes()
    x = to_float(pcm)
    assert x.dtype == np.float32
    assert x.min() == -1.0 and x.max() < 1.0
    assert to_pcm16(x) == pcm


def test_to_pcm16_clips_then_rounds() -> None:
    x = np.array([2.0, -2.0, 1.0, -1.0, 0.4 / 32768, 0.6 / 32768, np.nan])
    out = np.frombuffer(to_pcm16(x), "<i2")
    assert out.tolist() == [32767, -32768, 32767, -32768, 0, 1, 0]


def test_odd_length_is_an_error() -> None:
    with pytest.raises(ValueError, match="odd length"):
        to_float(b"\x00\x00\x00")


def test_duration_ms() -> None:
    assert duration_ms(bytes(320), 8000) == 20.0
    assert duration_ms(bytes(32000), 16000) == 1000.0
    assert duration_ms(b"", 16000) == 0.0


def test_rms_dbfs_levels() -> None:
    assert rms_dbfs(bytes(640)) == -120.0
    assert rms_dbfs(b"") == -120.0
    square = to_pcm16(np.tile([1.0, -1.0], 160))
    assert rms_dbfs(square) == pytest.approx(0.0, abs=0.01)
    t = np.arange(16000) / 16000
    sine = to_pcm16(0.5 * np.sin(2 * np.pi * 1000 * t))
    assert rms_dbfs(sine) == pytest.approx(-9.03, abs=0.02)  # -6.02 (half) - 3.01 (sine)


def test_mix_to_mono_averages_channels() -> None:
    stereo = np.array([[1.0, 0.0], [0.5, -0.5], [-1.0, -1.0]], dtype=np.float32)
    assert mix_to_mono(stereo).tolist() == [0.5, 0.0, -1.0]
    assert mix_to_mono(stereo).dtype == np.float32
    ints = np.array([[32767, 32767], [-32768, -32768]], dtype=np.int16)
    assert mix_to_mono(ints).tolist() == [32767.0, -32768.0]  # no integer overflow
    mono = np.array([0.25, -0.25], dtype=np.float32)
    assert mix_to_mono(mono).tolist() == [0.25, -0.25]
    assert mix_to_mono(stereo[:, :1]).tolist() == [1.0, 0.5, -1.0]
