"""Audio gaps as a phone hears them: a fixed playout buffer fed by arrivals, drained one 20 ms
frame per tick of the caller's clock.

The model (sans-IO; the caller's line calls `push` on arrival and `tick` every 20 ms):

 1. Arriving audio is queued. A talkspurt starts playing once PREBUFFER_MS is queued (or, for
    a short burst, once the first audio has waited PREBUFFER_MS): a fixed jitter buffer.
 2. While playing, each tick plays 20 ms. A tick with less than a frame queued is an
    underrun: what there is plays, padded with silence.
 3. Underrun ticks only count as a gap when audio arrives again within HANGOVER_MS: an empty
    buffer that stays empty is the end of the talkspurt, not a gap.
 4. One gap is one run of consecutive underrun ticks; `underrun_ms` is their total length.

A server that paces its frames with a little lead never underruns this buffer; one that stalls
the loop for more than 40 ms mid-sentence does, which is what a caller hears as a click or
a dropout.
"""

from __future__ import annotations

from collections import deque

FRAME_MS = 20
PREBUFFER_MS = 40
HANGOVER_MS = 200


class PlayoutBuffer:
    def __init__(self, frame_bytes: int, *, prebuffer_ms: int = PREBUFFER_MS,
                 hangover_ms: int = HANGOVER_MS) -> None:
        self.frame_bytes = frame_bytes
        self._prebuffer = frame_bytes * prebuffer_ms // FRAME_MS
        self._prebuffer_s = prebuffer_ms / 1000
        self._hangover_ticks = hangover_ms // FRAME_MS
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._playing = False
        self._first_arrival: float | None = None  # of the talkspurt still buffering
        self._empty_ticks = 0  # consecutive underrun ticks not yet judged
        self.gaps = 0
        self.underrun_ms = 0
        self.pushed_bytes = 0  # all audio ever queued
        self.played_bytes = 0  # all audio played or dropped (Twilio marks compare the two)

    def push(self, audio: bytes, now: float) -> None:
        if not audio:
            return
        if self._playing and self._empty_ticks:
            if self._empty_ticks <= self._hangover_ticks:  # rule 3: audio came back: a gap
                self.gaps += 1
                self.underrun_ms += self._empty_ticks * FRAME_MS
            self._empty_ticks = 0
        if not self._playing and self._first_arrival is None:
            self._first_arrival = now
        self._queue.append(audio)
        self._queued += len(audio)
        self.pushed_bytes += len(audio)

    def clear(self) -> None:
        """Drop everything queued (a Twilio clear): it will never be heard."""
        self._queue.clear()
        self._queued = 0
        self.played_bytes = self.pushed_bytes
        self._playing, self._first_arrival, self._empty_ticks = False, None, 0

    def tick(self, now: float) -> bytes | None:
        """Play one frame; None while nothing plays (idle, or still prebuffering)."""
        if not self._playing:
            if self._first_arrival is None:
                return None
            if self._queued < self._prebuffer and now - self._first_arrival < self._prebuffer_s:
                return None
            self._playing, self._first_arrival = True, None
        out = self._take(self.frame_bytes)
        if len(out) < self.frame_bytes:
            self._empty_ticks += 1
            if self._empty_ticks > self._hangover_ticks:  # rule 3: the talkspurt ended
                self._playing, self._empty_ticks = False, 0
            if not out:
                return bytes(self.frame_bytes)
            out += bytes(self.frame_bytes - len(out))
        return out

    def _take(self, n: int) -> bytes:
        parts, want = [], n
        while want and self._queue:
            head = self._queue.popleft()
            if len(head) > want:
                self._queue.appendleft(head[want:])
                head = head[:want]
            parts.append(head)
            want -= len(head)
        out = b"".join(parts)
        self._queued -= len(out)
        self.played_bytes += len(out)
        return out


def gaps_of_arrivals(arrivals: list[tuple[float, bool]]) -> tuple[int, int]:
    """(gaps, underrun_ms) a phone's playout buffer would hear, replayed after the call from
    each 20 ms frame's arrival time and whether it carried audio (a continuous stream, such as
    a WebRTC track, sends digital silence while the agent is quiet: those frames are not
    queued, as a transport that sends nothing then would not queue them). The buffer ticks
    every 20 ms from the first arrival."""
    if not arrivals:
        return 0, 0
    buffer = PlayoutBuffer(1)  # one byte stands for one frame
    step = FRAME_MS / 1000
    tick_at = arrivals[0][0]
    for arrived, audible in sorted(arrivals):
        while tick_at < arrived:
            buffer.tick(tick_at)
            tick_at += step
        if audible:
            buffer.push(b"\x01", arrived)
    for _ in range(HANGOVER_MS // FRAME_MS + 1):  # let the last talkspurt end, not gap
        buffer.tick(tick_at)
        tick_at += step
    return buffer.gaps, buffer.underrun_ms
