"""The polyphase half-band converters give exactly the direct form's output (zero-stuff, 63-tap
FIR, decimate), whatever the chunk sizes, odd ones included."""

import numpy as np
import pytest

from voxline.audio.halfband import _H, TAPS, Downsampler2x, Upsampler2x


def direct_up(x: np.ndarray) -> np.ndarray:
    stuffed = np.zeros(2 * len(x))
    stuffed[0::2] = 2 * x
    return np.convolve(stuffed, _H)[: len(stuffed)]


def direct_down(x: np.ndarray) -> np.ndarray:
    return np.convolve(x, _H)[: len(x)][0::2]


def pcm(x: np.ndarray) -> bytes:
    return x.astype("<i2").tobytes()


def rounded(y: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(y), -32768, 32767).astype(int)


@pytest.mark.parametrize("chunks", [[160] * 20, [1, 3, 7, 159, 161, 320, 2, 5, 160, 160]])
def test_polyphase_equals_the_direct_form(chunks):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(sum(chunks)) * 6000).clip(-32768, 32767).astype(np.int16)
    up, down = Upsampler2x(), Downsampler2x()
    got_up, got_down, at = [], [], 0
    for n in chunks:
        got_up.append(np.frombuffer(up.process(pcm(x[at:at + n])), "<i2"))
        got_down.append(np.frombuffer(down.process(pcm(x[at:at + n])), "<i2"))
        at += n
    x = x.astype(np.float64)
    assert np.array_equal(np.concatenate(got_up), rounded(direct_up(x)))
    assert np.array_equal(np.concatenate(got_down), rounded(direct_down(x)))


def test_empty_chunks_give_nothing_and_change_nothing():
    up = Upsampler2x()
    assert up.process(b"") == b""
    down = Downsampler2x()
    assert down.process(b"") == b""
    assert len(down.process(bytes(2 * TAPS))) == 2 * (TAPS // 2 + 1)  # 32 samples
