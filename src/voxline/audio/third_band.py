"""Low-delay 3:1 rate conversion between WebRTC's Opus rate (48 kHz) and the engine (16 kHz).

soxr's streaming resampler (audio/resample.py) is exact in sample positions but releases its
output in blocks: at 48 <-> 16 kHz its HQ stream returns ~490 samples on two calls of every
three and nothing on the third, so a 20 ms frame in comes out one or two 20 ms calls later.
On a browser call that is 20-40 ms each way, in bursts. A fixed 3:1 ratio needs none of that:
one linear-phase FIR low-pass at 48 kHz (96 taps, Kaiser window: flat to ~7 kHz, >= 60 dB
down from ~9 kHz), its history carried across frames, turns every 20 ms frame in into exactly
one 20 ms frame out, 47.5 samples at 48 kHz (~1 ms) late. The engine's VAD and STT look at
speech below 7 kHz, so nothing they use is lost.

Both converters are polyphase: tap k = 3j + p of the filter meets only every third sample of
the zero-stuffed (upsampled) or kept (downsampled) stream, so each is three 32-tap
convolutions at 16 kHz instead of one 96-tap convolution at 48 kHz.
"""

from __future__ import annotations

import numpy as np

from voxline.audio.pcm import scaled_floats, scaled_to_pcm16

RATIO = 3
TAPS = 96
PHASE_TAPS = TAPS // RATIO  # 32
DELAY_48K = (TAPS - 1) / 2  # group delay in 48 kHz samples (47.5: ~0.99 ms)
_CUTOFF = 1 / (2 * RATIO)  # 8 kHz at 48 kHz, in cycles per sample
_KAISER_BETA = 5.65  # ~60 dB stop band (Kaiser's formula: 0.1102 x (60 - 8.7))


def _lowpass() -> np.ndarray:
    n = np.arange(TAPS) - DELAY_48K
    h = 2 * _CUTOFF * np.sinc(2 * _CUTOFF * n) * np.kaiser(TAPS, _KAISER_BETA)
    return h / h.sum()  # unity gain at DC


_H = _lowpass()
_PHASES = [_H[p::RATIO].copy() for p in range(RATIO)]  # tap 3j + p is _PHASES[p][j]


class Downsampler3x:
    """48 kHz PCM16 in, 16 kHz PCM16 out: a third of the samples of every chunk, at once.

    Output m is the filter at input sample 3m + 2 (the newest of each group of three), so a
    chunk's outputs need nothing that has not arrived. A chunk whose length is not a multiple
    of three leaves its last one or two samples for the next chunk.
    """

    def __init__(self) -> None:
        # The last PHASE_TAPS - 1 samples of each of the three decimated input streams.
        self._history = np.zeros((RATIO, PHASE_TAPS - 1))
        self._left = np.zeros(0)  # input samples short of a whole group of three

    def process(self, pcm16: bytes) -> bytes:
        x = scaled_floats(pcm16)
        if len(self._left):
            x = np.concatenate((self._left, x))
        whole = len(x) - len(x) % RATIO
        self._left = x[whole:]
        if not whole:
            return b""
        x = x[:whole]
        out = np.zeros(whole // RATIO)
        for p in range(RATIO):
            # y[m] = sum_p sum_j h[3j + p] x[3(m - j) + 2 - p]: stream 2 - p meets phase p.
            stream = np.concatenate((self._history[p], x[RATIO - 1 - p :: RATIO]))
            out += np.convolve(stream, _PHASES[p], mode="valid")
            self._history[p] = stream[len(stream) - (PHASE_TAPS - 1) :]
        return scaled_to_pcm16(out)


class Upsampler3x:
    """16 kHz PCM16 in, 48 kHz PCM16 out: three times the samples of every chunk, at once."""

    def __init__(self) -> None:
        self._history = np.zeros(PHASE_TAPS - 1)  # the last 31 input samples

    def process(self, pcm16: bytes) -> bytes:
        x = scaled_floats(pcm16)
        if not len(x):
            return b""
        padded = np.concatenate((self._history, x))
        self._history = padded[len(padded) - (PHASE_TAPS - 1) :]
        # Zero-stuffed input x3: output 3n + p meets only the taps 3j + p, on x[n - j].
        out = np.empty(RATIO * len(x))
        for p in range(RATIO):
            out[p::RATIO] = np.convolve(padded, RATIO * _PHASES[p], mode="valid")
        return scaled_to_pcm16(out)
