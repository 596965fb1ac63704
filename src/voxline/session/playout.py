"""Outbound agent audio: a bounded queue of 20 ms frames, and what has been played of it.

The transport pulls one frame per 20 ms (`next_frame`) and sends silence when there is none.
`clear()` empties the queue at once, so on barge-in the very next frame pulled is silence: agent
audio stops within one frame of the decision. Every frame pulled is counted against the clause
it came from, which is how a barge-in knows what the caller actually heard.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from voxline.agent.heard import SpokenSegment
from voxline.audio.frames import ENGINE_RATE, FRAME_MS, FrameSplitter
from voxline.audio.resample import StreamResampler
from voxline.providers.base import SpeechChunk

# How far TTS may run ahead of playout. Past this, the reply pipeline waits, which in turn
# paces the LLM: nothing grows without bound during a long answer.
MAX_QUEUED_MS = 8000


class AudioOut:
    def __init__(self, rate: int = ENGINE_RATE, max_queued_ms: int = MAX_QUEUED_MS) -> None:
        self.rate = rate
        self._max_frames = max_queued_ms // FRAME_MS
        self._queue: deque[tuple[bytes, int]] = deque()  # (frame, clause index)
        self._space = asyncio.Event()
        self._space.set()
        self._splitter = FrameSplitter(rate)
        self._resampler: StreamResampler | None = None
        self._clause_texts: list[str] = []
        self._clause_frames: list[int] = []  # frames queued per clause
        self._played_frames = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._held = False
        # Told when audio becomes playable after none was (a reply released at the endpoint,
        # or its first frames queued): a transport pacing on a 20 ms tick sends it at once
        # instead of at its next tick, which would add 0-20 ms to every answer.
        self.on_playable: Callable[[], None] | None = None

    # -- producer side (the turn) -------------------------------------------------------

    def start_reply(self) -> None:
        """Forget the previous reply's segments; a new turn is about to speak."""
        self.clear()
        self._clause_texts.clear()
        self._clause_frames.clear()
        self._played_frames = 0

    async def play(self, chunk: SpeechChunk) -> None:
        if self._resampler is None or self._resampler.in_rate != chunk.rate:
            self._resampler = StreamResampler(chunk.rate, self.rate)
        while len(self._clause_texts) <= chunk.clause:
            self._clause_texts.append("")
            self._clause_frames.append(0)
        self._clause_texts[chunk.clause] = chunk.text
        pcm = self._resampler.process(chunk.pcm)
        if chunk.last:
            pcm += self._resampler.flush()
        frames = self._splitter.push(pcm)
        if chunk.last:
            tail = self._splitter.flush()
            if tail is not None:
                frames.append(tail)
        for frame in frames:
            while len(self._queue) >= self._max_frames:
                self._space.clear()
                await self._space.wait()
            was_empty = not self._queue
            self._queue.append((frame, chunk.clause))
            self._clause_frames[chunk.clause] += 1
            self._drained.clear()
            if was_empty and not self._held:
                self._tell_playable()

    def hold(self) -> None:
        """Queue but do not play: a speculative answer waits for the endpoint."""
        self._held = True

    def release(self) -> None:
        held, self._held = self._held, False
        if held and self._queue:
            self._tell_playable()

    def _tell_playable(self) -> None:
        if self.on_playable is not None:
            self.on_playable()

    async def drained(self) -> None:
        """Wait until every queued frame has been pulled by the transport."""
        await self._drained.wait()

    # -- consumer side (the transport's 20 ms tick) -------------------------------------------

    def next_frame(self) -> bytes | None:
        if self._held:
            return None
        if not self._queue:
            self._drained.set()
            return None
        frame, _clause = self._queue.popleft()
        self._played_frames += 1
        if len(self._queue) < self._max_frames:
            self._space.set()
        if not self._queue:
            self._drained.set()
        return frame

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    def clear(self) -> int:
        """Drop everything not yet played; returns how many frames were dropped."""
        dropped = len(self._queue)
        self._queue.clear()
        self._splitter = FrameSplitter(self.rate)
        self._resampler = None
        self._space.set()
        self._drained.set()
        return dropped

    # -- what was heard -------------------------------------------------------------------

    @property
    def played_ms(self) -> float:
        return float(self._played_frames * FRAME_MS)

    def segments(self) -> list[SpokenSegment]:
        return [
            SpokenSegment(text=text, duration_ms=float(frames * FRAME_MS))
            for text, frames in zip(self._clause_texts, self._clause_frames)
        ]
