"""Loss concealment for one narrowband stream, without I/O: what to play for a packet that is
not there. The last frame is repeated at falling gain, then comfort noise (a faint, steady hiss
rather than dead air that sounds like a dropped call) until audio resumes. Used by the jitter
buffer (jitter.py) and the in-order receiver (in_order.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FADE = (0.7, 0.4)  # gains of the first repeated frames after a loss; then comfort noise
COMFORT_NOISE_RMS = 12.0  # about -68 dBFS: audible as "the line is open", far below any VAD


@dataclass(frozen=True)
class Played:
    pcm: bytes
    kind: str  # audio | concealed | comfort | silence (a slot with no audio, e.g. DTMF)


class Concealer:
    def __init__(self, frame_samples: int = 160, *, seed: int = 0) -> None:
        self.frame_samples = frame_samples
        self._rng = np.random.default_rng(seed)
        self._last: bytes | None = None
        self._run = 0  # concealed frames since the last real one
        self.concealed = 0  # frames rebuilt from the last one
        self.comfort = 0  # frames of comfort noise

    def reset(self) -> None:
        """A new stream: nothing to repeat."""
        self._last = None
        self._run = 0

    def heard(self, pcm: bytes) -> None:
        """A real frame played: the next loss repeats this one."""
        self._last = pcm
        self._run = 0

    def forget(self) -> None:
        """A slot with no audio (DTMF, comfort noise) played: a loss after it is not speech."""
        self._run = len(FADE)

    @property
    def samples(self) -> int:
        """Samples in one concealed frame: the size of the last real one."""
        return len(self._last) // 2 if self._last else self.frame_samples

    def silence(self) -> bytes:
        return bytes(2 * self.samples)

    def conceal(self) -> Played:
        self._run += 1
        if self._last is not None and self._run <= len(FADE):
            self.concealed += 1
            samples = np.frombuffer(self._last, dtype="<i2").astype(np.float32)
            faded = samples * FADE[self._run - 1]
            return Played(faded.astype("<i2").tobytes(), "concealed")
        self.comfort += 1
        noise = self._rng.normal(0.0, COMFORT_NOISE_RMS, self.samples)
        return Played(np.clip(noise, -32768, 32767).astype("<i2").tobytes(), "comfort")
