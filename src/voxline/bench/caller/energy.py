"""Voiced or not, by energy: RMS over 5 ms windows against -40 dBFS (the floor the file
transport, the browser page and the Twilio test caller use), at any sample rate.

Works on whole frames with numpy, never per sample in Python: one caller process runs dozens of
calls, each looking at 50 frames a second in each direction.
"""

from __future__ import annotations

import numpy as np

FLOOR_DBFS = -40.0
FLOOR = 10 ** (FLOOR_DBFS / 20) * 32768
WINDOW_MS = 5


def window_samples(rate: int) -> int:
    return rate * WINDOW_MS // 1000


def voiced_windows(pcm: bytes, rate: int) -> np.ndarray:
    """One bool per whole 5 ms window of PCM16: above the floor or not."""
    window = window_samples(rate)
    samples = np.frombuffer(pcm, dtype=np.int16)
    usable = len(samples) // window * window
    if usable == 0:
        return np.zeros(0, dtype=bool)
    blocks = samples[:usable].astype(np.float32).reshape(-1, window)
    return np.sqrt(np.mean(blocks * blocks, axis=1)) > FLOOR


def voiced_span(pcm: bytes, rate: int) -> tuple[int, int] | None:
    """(first voiced sample, one past the last voiced sample), in samples; None if silent."""
    loud = np.flatnonzero(voiced_windows(pcm, rate))
    if len(loud) == 0:
        return None
    window = window_samples(rate)
    return int(loud[0]) * window, int(loud[-1] + 1) * window
