"""Signals and measurements shared by the fixed-ratio converter tests (halfband, third_band)."""

from __future__ import annotations

import numpy as np


def tone(hz: float, rate: int, seconds: float = 1.0, amplitude: float = 8000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * amplitude).astype(np.int16).tobytes()


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)))


def in_frames(converter, pcm: bytes, frame_bytes: int) -> list[bytes]:
    return [converter.process(pcm[i : i + frame_bytes]) for i in range(0, len(pcm), frame_bytes)]
