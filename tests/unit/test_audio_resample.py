"""Streaming resampling: chunked output matches one-shot, and sines keep pitch and level."""

from __future__ import annotations

import numpy as np
import pytest

from voxline.audio.frames import frame_bytes, frames_of
from voxline.audio.pcm import rms_dbfs, to_pcm16
from voxline.audio.resample import StreamResampler, resample


def sine(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return to_pcm16(amp * np.sin(2 * np.pi * freq * t))


def dominant_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum)) * rate / x.size


def stream(pcm: bytes, in_rate: int, out_rate: int, chunk: int) -> bytes:
    r = StreamResampler(in_rate, out_rate)
    out = [r.process(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)]
    return b"".join(out) + r.flush()


@pytest.mark.parametrize(
    ("in_rate", "out_rate"), [(48000, 16000), (8000, 16000), (44100, 16000), (16000, 24000)]
)
def test_streaming_in_20ms_chunks_matches_one_shot(in_rate: int, out_rate: int) -> None:
    pcm = sine(1000, in_rate)
    one = np.frombuffer(resample(pcm, in_rate, out_rate), "<i2").astype(int)
    chunked = np.frombuffer(stream(pcm, in_rate, out_rate, frame_bytes(in_rate)), "<i2").astype(int)
    assert one.size == out_rate  # one second in, one second out
    assert chunked.size == one.size
    assert np.abs(one - chunked).max() <= 1  # same filter, same phase: at most a rounding apart


@pytest.mark.parametrize(("in_rate", "out_rate"), [(48000, 16000), (8000, 16000), (16000, 8000)])
def test_sine_keeps_frequency_and_level(in_rate: int, out_rate: int) -> None:
    pcm = sine(1000, in_rate)
    out = stream(pcm, in_rate, out_rate, frame_bytes(in_rate))
    assert dominant_hz(out, out_rate) == pytest.approx(1000, abs=2)
    # Skip the filter's edges and compare the steady state.
    edge = out_rate // 20 * 2
    assert rms_dbfs(out[edge:-edge]) == pytest.approx(rms_dbfs(pcm), abs=0.1)


def test_no_clicks_at_frame_edges() -> None:
    # A click shows up as a sample-to-sample jump far above what a 1 kHz sine can do.
    out = np.frombuffer(stream(sine(1000, 48000), 48000, 16000, 1920), "<i2").astype(int)
    steady = out[200:-200]
    max_step = 0.5 * 32768 * 2 * np.pi * 1000 / 16000  # derivative bound of the sine, per sample
    assert np.abs(np.diff(steady)).max() <= max_step * 1.05


def test_odd_sized_chunks_give_the_same_stream() -> None:
    pcm = sine(440, 48000, 0.5)
    a = np.frombuffer(stream(pcm, 48000, 16000, 1001), "<i2").astype(int)
    b = np.frombuffer(stream(pcm, 48000, 16000, 1920), "<i2").astype(int)
    assert a.size == b.size
    assert np.abs(a - b).max() <= 1


def test_silence_stays_digital_silence() -> None:
    # No dither: a VAD or level meter downstream must still see exact zeros.
    assert stream(bytes(9600), 48000, 16000, 1920) == bytes(3200)
    assert resample(bytes(320), 8000, 16000) == bytes(640)


def test_equal_rates_pass_through() -> None:
    r = StreamResampler(16000, 16000)
    chunk = b"\x01\x02" * 320
    assert r.process(chunk) is chunk
    assert r.flush() == b""
    assert resample(chunk, 16000, 16000) is chunk


def test_flush_resets_for_a_new_stream() -> None:
    r = StreamResampler(48000, 16000)
    pcm = sine(1000, 48000, 0.2)
    first = b"".join(r.process(f) for f in frames_of(pcm, 48000)) + r.flush()
    second = b"".join(r.process(f) for f in frames_of(pcm, 48000)) + r.flush()
    assert first == second


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        StreamResampler(0, 16000)
    with pytest.raises(ValueError, match="quality"):
        StreamResampler(8000, 16000, quality="best")
    with pytest.raises(ValueError, match="odd length"):
        resample(b"\x00\x00\x00", 8000, 16000)
    assert StreamResampler(8000, 16000).process(b"\x00") == b""  # half a sample: kept for later
    assert resample(b"", 8000, 16000) == b""
