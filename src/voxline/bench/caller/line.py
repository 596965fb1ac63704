"""The transport-neutral core of one scripted call: the caller's 20 ms line.

A transport calls two methods, and nothing else here touches a socket:

* `next_frame(now)` once per 20 ms tick, on the transport's absolute schedule: returns the
  caller's frame to send (speech while an utterance is queued, silence otherwise) and plays
  one frame of the agent's audio out of the playout buffer (what the caller hears);
* `on_agent_audio(pcm, now)` for every piece of agent audio that arrives.

Times are time.monotonic(). A sample's time is the time its frame was sent (or arrived) plus
its offset in the frame, on both sides alike, so the two ends of voice_to_voice_ms are stamped
the same way. Agent audio is timed at arrival, not at playout: the playout buffer's own delay
(40 ms, playout.py) is the phone's, not the server's. A server that queues audio ahead at the
caller is timed by its arrival too; for Twilio, a clear cuts what is queued.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from voxline.audio.wav import Audio
from voxline.bench.caller.energy import voiced_span, voiced_windows, window_samples
from voxline.bench.caller.playout import PlayoutBuffer

FRAME_MS = 20
SPAN_MERGE_S = 0.03  # voiced windows closer than this are one stretch of agent audio


@dataclass
class Utterance:
    """One caller WAV being spoken, and when its voice started and ended on the wire."""

    frames: list[bytes]
    first_voiced: tuple[int, float]  # (frame index, offset in s) of the first voiced sample
    last_voiced: tuple[int, float]  # ... and of the end of the last voiced sample
    started_at: float | None = None  # first frame sent
    first_voiced_at: float | None = None
    last_voiced_at: float | None = None
    last_voiced_frame: int | None = None  # ...its frame's index in the call (0: the first sent)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # last frame sent


class CallerLine:
    def __init__(self, rate: int, *, record: bool = False) -> None:
        self.rate = rate
        self.frame_samples = rate * FRAME_MS // 1000
        self.frame_bytes = 2 * self.frame_samples
        self._silence = bytes(self.frame_bytes)
        self._window_s = window_samples(rate) / rate
        self._outgoing: deque[bytes] = deque()
        self._utterance: Utterance | None = None
        self._sent_index = 0  # frames of the current utterance sent
        self.playout = PlayoutBuffer(self.frame_bytes)
        self.spans: list[list[float]] = []  # [start, end] of voiced agent audio, in order
        self._voiced = asyncio.Event()  # set whenever voiced agent audio arrives
        self.started_at: float | None = None  # first tick: the call's media time zero
        self.frames_sent = 0
        self.frames_received = 0
        self.sequence_gaps = 0  # packets the transport saw missing (RTP / WebRTC)
        self.ended = asyncio.Event()  # the far end hung up, or the media stopped
        self.ended_by: str | None = None
        self.record = record
        self.sent_track = bytearray()  # the caller's track, one frame per tick (if record)
        self.heard_track = bytearray()  # what played out to the caller, one frame per tick

    # -- the transport's side ----------------------------------------------------------------

    def next_frame(self, now: float) -> bytes:
        if self.started_at is None:
            self.started_at = now
        frame = self._next_caller_frame(now)
        heard = self.playout.tick(now)
        if self.record:
            self.sent_track += frame
            self.heard_track += heard if heard is not None else self._silence
        self.frames_sent += 1
        return frame

    def on_agent_audio(self, pcm: bytes, now: float) -> None:
        self.frames_received += max(1, len(pcm) // self.frame_bytes)  # a message may batch
        self.playout.push(pcm, now)
        loud = np.flatnonzero(voiced_windows(pcm, self.rate))
        if len(loud) == 0:
            return
        start = now + int(loud[0]) * self._window_s
        end = now + int(loud[-1] + 1) * self._window_s
        if self.spans and start - self.spans[-1][1] <= SPAN_MERGE_S:
            self.spans[-1][1] = max(self.spans[-1][1], end)
        else:
            self.spans.append([start, end])
        self._voiced.set()

    def on_clear(self, now: float) -> None:
        """The far end dropped the audio it had sent but the caller had not yet heard."""
        self.playout.clear()
        if self.spans and self.spans[-1][1] > now:
            self.spans[-1][1] = max(self.spans[-1][0], now)

    def hang_up_seen(self, by: str) -> None:
        if not self.ended.is_set():
            self.ended_by = by
            self.ended.set()

    # -- the script's side -------------------------------------------------------------------

    def speak(self, audio: Audio) -> Utterance:
        """Queue `audio` (at this line's rate) to be sent from the next tick on."""
        if audio.rate != self.rate:
            raise ValueError(f"this line runs at {self.rate} Hz, the audio is {audio.rate} Hz")
        span = voiced_span(audio.pcm, self.rate)
        if span is None:
            raise ValueError("silent audio: nothing to time an answer from")
        frames = [audio.pcm[i:i + self.frame_bytes].ljust(self.frame_bytes, b"\0")
                  for i in range(0, len(audio.pcm), self.frame_bytes)]
        first, end = span
        last = end - 1  # the frame holding the last voiced sample; the stamp is its end
        utterance = Utterance(
            frames,
            (first // self.frame_samples, (first % self.frame_samples) / self.rate),
            (last // self.frame_samples, (last % self.frame_samples + 1) / self.rate),
        )
        if self._utterance is not None:
            self._utterance.done.set()  # cut short by the next one
        self._utterance, self._sent_index = utterance, 0
        self._outgoing = deque(frames)
        return utterance

    def last_agent_voice_end(self) -> float | None:
        return self.spans[-1][1] if self.spans else None

    def first_agent_voice_after(self, t: float) -> float | None:
        """Start of the first stretch of agent audio that begins at or after `t`."""
        found = None
        for start, _ in reversed(self.spans):
            if start < t:
                break
            found = start
        return found

    def agent_stop_after(self, t: float, quiet_s: float) -> float | None:
        """End of the agent audio under way at `t`: the last voiced sample before the first
        silence of at least `quiet_s` after `t`. None if the agent was silent at `t`."""
        stop = None
        for start, end in self.spans:
            if end <= t:
                continue
            if stop is None:
                if start > t + quiet_s:
                    return None  # silent at t; this is a later answer
                stop = end
            elif start - stop < quiet_s:
                stop = end
            else:
                break
        return stop

    async def wait_agent_voice_after(self, t: float, timeout_s: float) -> float | None:
        deadline = time.monotonic() + timeout_s
        while (found := self.first_agent_voice_after(t)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.ended.is_set():
                return None
            self._voiced.clear()
            try:
                await asyncio.wait_for(self._voiced.wait(), min(left, 0.5))
            except TimeoutError:
                pass
        return found

    async def wait_agent_quiet(self, quiet_s: float, since: float) -> None:
        """Until no voiced agent audio has arrived for `quiet_s` (counting from `since` at the
        earliest): the agent has finished answering."""
        while not self.ended.is_set():
            last = max(self.last_agent_voice_end() or since, since)
            left = last + quiet_s - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(left)

    # -- inside ------------------------------------------------------------------------------

    def _next_caller_frame(self, now: float) -> bytes:
        utterance = self._utterance
        if utterance is None or not self._outgoing:
            return self._silence
        frame = self._outgoing.popleft()
        index = self._sent_index
        self._sent_index += 1
        if index == 0:
            utterance.started_at = now
        if index == utterance.first_voiced[0]:
            utterance.first_voiced_at = now + utterance.first_voiced[1]
        if index == utterance.last_voiced[0]:
            utterance.last_voiced_at = now + utterance.last_voiced[1]
            utterance.last_voiced_frame = self.frames_sent
        if not self._outgoing:
            utterance.done.set()
        return frame
