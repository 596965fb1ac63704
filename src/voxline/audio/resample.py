"""Sample-rate conversion with soxr, streaming-safe (filter state carries across 20 ms chunks).

soxr runs in float32 here, not int16: with int16 output libsoxr adds TPDF dither, so digital
silence comes out as +-1 LSB noise (which fools energy-based silence checks) and the output
depends on the dither generator's state. Float in, one deterministic rounding out, instead.
"""

from __future__ import annotations

import numpy as np
import soxr

from voxline.audio.pcm import to_float, to_pcm16

_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")


def _check(in_rate: int, out_rate: int, quality: str) -> None:
    if in_rate <= 0 or out_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate} Hz")
    if quality not in _QUALITIES:
        raise ValueError(f"unknown resampler quality {quality!r}; use one of {_QUALITIES}")


class StreamResampler:
    """Resamples a PCM16 mono stream chunk by chunk.

    A fresh resampler per chunk would restart the filter at every frame edge and click;
    one soxr stream per direction per call keeps the filter history instead.
    """

    def __init__(self, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        _check(in_rate, out_rate, quality)
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream: soxr.ResampleStream | None = None
        if in_rate != out_rate:
            self._stream = soxr.ResampleStream(
                in_rate, out_rate, 1, dtype="float32", quality=quality
            )
        self._odd = b""  # half a sample left over from a chunk with an odd byte count

    def process(self, pcm16: bytes) -> bytes:
        """Resample one chunk; output lags input by the filter delay until flush()."""
        if self._stream is None:
            return pcm16
        if self._odd:
            pcm16 = self._odd + pcm16
            self._odd = b""
        if len(pcm16) % 2:
            self._odd = pcm16[-1:]
            pcm16 = pcm16[:-1]
        if not pcm16:
            return b""
        return to_pcm16(self._stream.resample_chunk(to_float(pcm16)))

    def flush(self) -> bytes:
        """End of stream: return the samples still held in the filter, then reset for reuse."""
        if self._stream is None:
            return b""
        self._odd = b""
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._stream.clear()
        return to_pcm16(out)


def resample(pcm16: bytes, in_rate: int, out_rate: int, quality: str = "HQ") -> bytes:
    """Resample a whole PCM16 mono buffer at once (delay-compensated, same duration out)."""
    _check(in_rate, out_rate, quality)
    if in_rate == out_rate or not pcm16:
        return pcm16
    return to_pcm16(soxr.resample(to_float(pcm16), in_rate, out_rate, quality=quality))
