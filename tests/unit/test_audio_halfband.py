"""The low-delay 2:1 converters between 8 kHz telephone audio and the 16 kHz engine."""

from __future__ import annotations

import numpy as np
import pytest
from rate_converter_signals import in_frames, rms, tone

from voxline.audio.halfband import DELAY_16K, Downsampler2x, Upsampler2x
from voxline.audio.resample import StreamResampler


def test_every_20ms_frame_in_gives_one_20ms_frame_out_at_once():
    up = in_frames(Upsampler2x(), tone(440, 8000), 320)
    down = in_frames(Downsampler2x(), tone(440, 16000), 640)
    assert {len(f) for f in up} == {640}
    assert {len(f) for f in down} == {320}
    # What soxr's stream does with the same frames: nothing for a while, then a burst. This is
    # why the phone paths use these converters.
    soxr = StreamResampler(8000, 16000)
    pcm = tone(440, 8000)
    assert [len(soxr.process(pcm[i : i + 320])) for i in range(0, 320 * 4, 320)] == [0] * 4


@pytest.mark.parametrize("hz", [300, 1000, 2000, 3400])
def test_the_telephone_band_passes_at_full_level_both_ways(hz):
    up = b"".join(in_frames(Upsampler2x(), tone(hz, 8000), 320))
    down = b"".join(in_frames(Downsampler2x(), tone(hz, 16000), 640))
    expected = 8000 / np.sqrt(2)
    assert rms(up[4000:]) == pytest.approx(expected, rel=0.02)
    assert rms(down[2000:]) == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("hz", [5000, 6000, 7500])
def test_content_above_the_telephone_band_does_not_alias_into_it(hz):
    down = b"".join(in_frames(Downsampler2x(), tone(hz, 16000), 640))
    assert rms(down[2000:]) < 8000 / np.sqrt(2) / 500  # >= 54 dB down


def test_upsampling_leaves_no_image_above_4khz():
    up = np.frombuffer(b"".join(in_frames(Upsampler2x(), tone(1000, 8000), 320)), np.int16)
    spectrum = np.abs(np.fft.rfft(up[1600:] * np.hanning(len(up) - 1600)))
    freqs = np.fft.rfftfreq(len(up) - 1600, 1 / 16000)
    image = spectrum[(freqs > 6900) & (freqs < 7100)].max()  # 8 kHz - 1 kHz
    assert image < spectrum.max() / 1000


def test_streaming_in_odd_pieces_equals_one_pass_and_the_delay_is_31_samples():
    pcm = tone(700, 16000, 0.3)
    whole = Downsampler2x().process(pcm)
    streamed = Downsampler2x()
    pieces, at = [], 0
    for size in (2, 6, 638, 3, 7, 1200, 10):  # sample counts, some odd
        pieces.append(streamed.process(pcm[2 * at : 2 * (at + size)]))
        at += size
    pieces.append(streamed.process(pcm[2 * at :]))
    assert b"".join(pieces) == whole

    impulse = np.zeros(200, dtype=np.int16)
    impulse[0] = 20000
    response = np.frombuffer(Upsampler2x().process(impulse.tobytes()), np.int16)
    assert int(np.argmax(response)) == DELAY_16K


def test_flush_returns_the_tail_and_starts_afresh():
    down = Downsampler2x()
    pcm = tone(440, 16000, 0.1)
    out = down.process(pcm) + down.flush()
    # 800 samples at 8 kHz, and the 31-sample (16 kHz) delay's worth of tail: 16 more.
    assert len(out) // 2 == len(pcm) // 4 + (DELAY_16K + 1) // 2
    assert down.process(bytes(640)) == bytes(320)  # nothing of the old audio is left
