"""Low-delay 2:1 rate conversion between telephone audio (8 kHz) and the engine (16 kHz).

soxr's streaming resampler (audio/resample.py) works in blocks: at 8 <-> 16 kHz its HQ stream
returns nothing for five 20 ms chunks and then ~100 ms at once, so a phone call would wait
66 ms on average each way, in bursts. A fixed 2:1 ratio needs none of that: one linear-phase
half-band FIR low-pass at 16 kHz (63 taps, Kaiser window: flat to 3.4 kHz, >= 60 dB down from
4.6 kHz), its history carried across frames, turns every 20 ms frame in into exactly one 20 ms
frame out, 31 samples (1.9 ms) late. G.711 carries 300-3400 Hz, so nothing of the call is lost.

Both converters run on every frame of every phone call, so they are polyphase: a half-band
filter's odd taps are zero but the centre one, so only the 32 even taps are convolved, with
the half of the samples they meet (the zero-stuffed half of an upsampled stream, the dropped
half of a downsampled one, is never computed). Same output as the direct form, ~3x cheaper.
"""

from __future__ import annotations

import numpy as np

from voxline.audio.pcm import scaled_floats, scaled_to_pcm16

TAPS = 63
DELAY_16K = (TAPS - 1) // 2  # group delay in 16 kHz samples
_KAISER_BETA = 5.65  # ~60 dB stop band (Kaiser's formula: 0.1102 x (60 - 8.7))


def _halfband() -> np.ndarray:
    n = np.arange(TAPS) - DELAY_16K
    h = 0.5 * np.sinc(0.5 * n) * np.kaiser(TAPS, _KAISER_BETA)
    return h / h.sum()  # unity gain at DC


_H = _halfband()
_H_EVEN = _H[0::2]  # the 32 taps that are not zero
_H_MID = _H[DELAY_16K]  # the one odd tap that is not: the centre
_EVEN_HISTORY = len(_H_EVEN) - 1  # 31


class Upsampler2x:
    """8 kHz PCM16 in, 16 kHz PCM16 out, twice the samples of every chunk, at once."""

    def __init__(self) -> None:
        self._history = np.zeros(_EVEN_HISTORY)  # the last 31 input samples

    def process(self, pcm16: bytes) -> bytes:
        x = scaled_floats(pcm16)
        return scaled_to_pcm16(self.upsample(x)) if len(x) else b""

    def upsample(self, x: np.ndarray) -> np.ndarray:
        """The same on float samples (PCM16 scale), for callers that decode straight to floats."""
        if not len(x):
            return x
        padded = np.concatenate((self._history, x))
        self._history = padded[len(padded) - _EVEN_HISTORY :]
        # Zero-stuffed input x2: even outputs meet only the even taps, odd ones only the centre.
        out = np.empty(2 * len(x))
        out[0::2] = np.convolve(padded, 2 * _H_EVEN, mode="valid")
        centre = _EVEN_HISTORY - DELAY_16K // 2  # x[m - 15] for output 2m + 1
        out[1::2] = padded[centre : centre + len(x)] * (2 * _H_MID)
        return out


class Downsampler2x:
    """16 kHz PCM16 in, 8 kHz PCM16 out: low-pass (no aliasing), then every other sample."""

    def __init__(self) -> None:
        self._history = np.zeros(TAPS - 1)
        self._odd = False  # the previous chunk had an odd sample count: keep the phase

    def process(self, pcm16: bytes) -> bytes:
        x = scaled_floats(pcm16)
        padded = np.concatenate((self._history, x))
        self._history = padded[len(padded) - (TAPS - 1) :]
        phase = 1 if self._odd else 0
        self._odd = (len(x) + self._odd) % 2 == 1
        kept = (len(x) - phase + 1) // 2  # outputs at phase, phase + 2, ... of this chunk
        if kept <= 0:
            return b""
        # Only the kept outputs are computed: even taps on one polyphase stream, the centre
        # tap on the other.
        even = padded[phase::2]
        odd = padded[phase + 1 :: 2]
        out = np.convolve(even, _H_EVEN, mode="valid")[:kept]
        out += odd[DELAY_16K // 2 : DELAY_16K // 2 + kept] * _H_MID
        return scaled_to_pcm16(out)
    def flush(self) -> bytes:
        """End of a stretch of audio: the filter's last DELAY_16K samples, then a fresh state."""
        tail = self.process(bytes(2 * DELAY_16K))
        self._history[:] = 0
        self._odd = False
        return tail
