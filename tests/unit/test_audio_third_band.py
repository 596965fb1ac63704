"""The low-delay 3:1 converters between WebRTC's 48 kHz and the 16 kHz engine."""

from __future__ import annotations

import numpy as np
import pytest
from rate_converter_signals import in_frames, rms, tone

from voxline.audio.resample import StreamResampler
from voxline.audio.third_band import DELAY_48K, Downsampler3x, Upsampler3x


def test_every_20ms_frame_in_gives_one_20ms_frame_out_at_once():
    down = in_frames(Downsampler3x(), tone(440, 48000), 1920)
    up = in_frames(Upsampler3x(), tone(440, 16000), 640)
    assert {len(f) for f in down} == {640}
    assert {len(f) for f in up} == {1920}
    # soxr's stream with the same frames: one call of every three gives nothing (the delay
    # these converters remove from the WebRTC path).
    soxr = StreamResampler(48000, 16000)
    pcm = tone(440, 48000)
    assert 0 in [len(soxr.process(pcm[i : i + 1920])) for i in range(0, 1920 * 6, 1920)]


@pytest.mark.parametrize("hz", [100, 1000, 3400, 6500])
def test_speech_band_passes_at_full_level_both_ways(hz):
    down = b"".join(in_frames(Downsampler3x(), tone(hz, 48000), 1920))
    up = b"".join(in_frames(Upsampler3x(), tone(hz, 16000), 640))
    expected = 8000 / np.sqrt(2)
    assert rms(down[2000:]) == pytest.approx(expected, rel=0.02)
    assert rms(up[6000:]) == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("hz", [9000, 12000, 20000])
def test_content_above_8khz_does_not_alias_into_the_engine_band(hz):
    down = b"".join(in_frames(Downsampler3x(), tone(hz, 48000), 1920))
    assert rms(down[2000:]) < 8000 / np.sqrt(2) / 1000  # >= 60 dB down


def test_upsampling_leaves_no_image_above_8khz():
    up = np.frombuffer(b"".join(in_frames(Upsampler3x(), tone(1000, 16000), 640)), np.int16)
    x = up[4800:].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / 48000)
    assert spectrum[freqs > 8500].max() < spectrum.max() / 1000


def test_delay_is_the_filters_one_millisecond_and_positions_stay_exact():
    step48 = np.zeros(9600, np.int16)
    step48[4800:] = 10000
    down = np.frombuffer(b"".join(in_frames(Downsampler3x(), step48.tobytes(), 1920)), np.int16)
    onset = int(np.argmax(down > 5000))
    assert 1600 <= onset <= 1600 + int(np.ceil(DELAY_48K / 3))
    step16 = np.zeros(3200, np.int16)
    step16[1600:] = 10000
    up = np.frombuffer(b"".join(in_frames(Upsampler3x(), step16.tobytes(), 640)), np.int16)
    assert 4800 <= int(np.argmax(up > 5000)) <= 4800 + int(np.ceil(DELAY_48K))


def test_chunks_of_any_length_give_the_same_stream():
    pcm = tone(700, 48000, 0.2)
    whole = Downsampler3x().process(pcm)
    odd = Downsampler3x()
    pieces = b"".join(odd.process(pcm[i : i + 482]) for i in range(0, len(pcm), 482))
    assert pieces == whole


def test_digital_silence_stays_digital_silence():
    assert Downsampler3x().process(bytes(1920)) == bytes(640)
    assert Upsampler3x().process(bytes(640)) == bytes(1920)


def test_odd_byte_counts_are_refused():
    with pytest.raises(ValueError, match="odd length"):
        Downsampler3x().process(b"\0\0\0")
