"""The delay agent's decisions, with no I/O: feed it the caller's audio as it arrives, ask it
for the agent's audio of any 20 ms frame.

* The caller's voice ends at the arrival time of its last voiced sample (energy, -40 dBFS
  over 5 ms windows, the harness's own detector); once `endpoint_ms` of silence follows, the
  answer is scheduled: a tone from exactly voice end + `delay_ms`, lasting `tone_ms`.
* Caller voice arriving while the tone plays is a barge-in: the tone stops exactly `stop_ms`
  after the arrival of the first voiced sample.

Sample-exact: a frame starting at time t holds the tone for exactly the samples whose times
t + i/rate fall inside [start, stop). The truth it acted on is kept for tests to compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from voxline.bench.caller.energy import voiced_windows, window_samples

TONE_HZ = 440.0
TONE_AMPLITUDE = 0.3 * 32767  # about -10 dBFS: far above the -40 dBFS floor


@dataclass
class DelayBrain:
    rate: int
    delay_ms: float
    stop_ms: float = 0.0
    tone_ms: float = 1500.0
    endpoint_ms: float = 150.0
    voice_ends: list[float] = field(default_factory=list)  # truth: arrival of last voiced
    tones: list[list[float]] = field(default_factory=list)  # truth: [start, stop] of each tone
    barge_ins: list[float] = field(default_factory=list)  # truth: arrival of barge-in voice
    # On the wire: when each tone's first and last samples really left (a loaded machine
    # sends late; a test compares the harness with these as well as with delay_ms).
    wire_starts: list[float] = field(default_factory=list)
    wire_stops: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._window_s = window_samples(self.rate) / self.rate
        self._last_voice: float | None = None  # end of the utterance in progress
        self._samples = self.rate // 50

    def hear(self, pcm: bytes, now: float) -> None:
        loud = np.flatnonzero(voiced_windows(pcm, self.rate))
        if len(loud):
            first = now + int(loud[0]) * self._window_s
            tone = self.tones[-1] if self.tones else None
            if tone is not None and tone[0] <= first < tone[1] and self._last_voice is None:
                self.barge_ins.append(first)
                tone[1] = min(tone[1], first + self.stop_ms / 1000)
            self._last_voice = now + int(loud[-1] + 1) * self._window_s
        elif self._last_voice is not None and now - self._last_voice >= self.endpoint_ms / 1000:
            start = self._last_voice + self.delay_ms / 1000
            self.voice_ends.append(self._last_voice)
            self.tones.append([start, start + self.tone_ms / 1000])
            self._last_voice = None

    def frame(self, t: float, samples: int | None = None) -> bytes | None:
        """The agent's audio for the frame starting at time `t`; None when it is all silence."""
        n = samples or self._samples
        times = t + np.arange(n) / self.rate
        out = np.zeros(n, dtype=np.float64)
        for start, stop in self.tones[-2:]:
            if stop <= t or start >= times[-1] + 1 / self.rate:
                continue
            inside = (times >= start) & (times < stop)
            out += np.where(inside, np.sin(2 * math.pi * TONE_HZ * (times - start)), 0.0)
        if not out.any():
            return None
        return (out * TONE_AMPLITUDE).astype("<i2").tobytes()

    def sent(self, t: float, now: float, samples: int | None = None) -> None:
        """The frame starting at `t` left at `now`: note where tone edges went out."""
        span = (samples or self._samples) / self.rate
        for index, (start, stop) in enumerate(self.tones):
            if start < t + span and stop > t and len(self.wire_starts) == index:
                self.wire_starts.append(now + max(0.0, start - t))  # late: mid-tone
            if t < stop <= t + span:
                while len(self.wire_stops) <= index:
                    self.wire_stops.append(0.0)
                self.wire_stops[index] = now + stop - t
