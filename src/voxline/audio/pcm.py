"""PCM16 <-> float conversions and simple measurements (PCM16: little-endian, mono unless noted)."""

from __future__ import annotations

import numpy as np

from voxline.audio.frames import SAMPLE_WIDTH

_INT16 = np.dtype("<i2")
_SCALE = 32768.0  # symmetric with to_pcm16, so PCM16 -> float -> PCM16 is exact
SILENCE_DBFS = -120.0  # stands in for -inf, which would poison averages and JSON


def _samples(pcm16: bytes) -> np.ndarray:
    if len(pcm16) % SAMPLE_WIDTH:
        raise ValueError(
            f"PCM16 buffer has an odd length ({len(pcm16)} bytes): a sample is 2 bytes; "
            "buffer network chunks with FrameSplitter before converting them"
        )
    return np.frombuffer(pcm16, dtype=_INT16)


def to_float(pcm16: bytes) -> np.ndarray:
    """PCM16 bytes to float32 samples in [-1, 1)."""
    return _samples(pcm16).astype(np.float32) / np.float32(_SCALE)


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples (nominally [-1, 1]) to PCM16 bytes: clipped, then rounded to nearest."""
    scaled = np.asarray(samples, dtype=np.float64) * _SCALE
    # NaN from a broken decoder would become an arbitrary integer; make it silence instead.
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=32767.0, neginf=-32768.0)
    return np.rint(np.clip(scaled, -32768.0, 32767.0)).astype(_INT16).tobytes()


def scaled_floats(pcm16: bytes) -> np.ndarray:
    """PCM16 bytes to float64 samples on the PCM16 scale (not normalised): what the fixed-ratio
    filters (halfband, third_band) work on, so their output rounds straight back."""
    return _samples(pcm16).astype(np.float64)


def scaled_to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples on the PCM16 scale, rounded to nearest and clipped, to PCM16 bytes."""
    return np.clip(np.rint(samples), -32768, 32767).astype(_INT16).tobytes()


def duration_ms(pcm16: bytes, rate: int) -> float:
    """Duration of a PCM16 mono buffer in milliseconds (a trailing odd byte is ignored)."""
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    return (len(pcm16) // SAMPLE_WIDTH) * 1000.0 / rate


def rms_dbfs(pcm16: bytes) -> float:
    """RMS level in dBFS (full-scale square wave = 0 dB); -120.0 for digital silence or empty."""
    x = to_float(pcm16).astype(np.float64)
    if x.size == 0:
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(x * x)))
    if rms <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * float(np.log10(rms)))


def mix_to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a [frames, channels] array into float32 mono (1-D input passes)."""
    x = np.asarray(samples)
    if x.ndim == 1:
        return x.astype(np.float32, copy=False)
    if x.ndim != 2:
        raise ValueError(f"expected a [frames, channels] array, got shape {x.shape}")
    if x.shape[1] == 1:
        return x[:, 0].astype(np.float32)
    # Averaging (not summing) cannot clip; mean in float64 avoids int overflow.
    return x.mean(axis=1, dtype=np.float64).astype(np.float32)
