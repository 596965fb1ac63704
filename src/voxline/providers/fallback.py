"""Fallback chains: `[deepgram/nova-3, local/whisper-tiny.en]` as one provider.

A chain is a wrapper, not a branch at every call site. It switches on a connect failure or a
fault in the middle of a call, logs and counts the switch, and keeps the caller talking:

* LLM: a provider that fails before its first token is skipped for this request; one that fails
  mid-answer ends this answer (the engine apologises) and the next request starts further down.
* TTS: clauses not yet fully spoken are replayed to the next provider, so the answer goes on.
* STT: the current utterance's audio is replayed into the next provider's stream.
After `cooldown_s` a chain tries its first provider again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

from voxline.audio.frames import FRAME_MS
from voxline.errors import ProviderError
from voxline.providers.base import (
    LanguageModel,
    Message,
    SpeechChunk,
    SpeechToText,
    STTStream,
    TextToSpeech,
    ToolCall,
    Transcript,
)

log = logging.getLogger(__name__)


class _Chain:
    def __init__(self, kind: str, members: Sequence[Any], cooldown_s: float) -> None:
        if len(members) < 2:
            raise ValueError("a fallback chain needs at least two providers")
        self.kind = kind
        self.members = list(members)
        self.cooldown_s = cooldown_s
        self.name = " > ".join(m.name for m in members)
        self.switches: Counter[str] = Counter()  # "from>to" -> count
        self._current = 0
        self._since = 0.0

    async def warm_members(self, *args: Any) -> None:
        """Warm every member. One that fails is switched away from (if it is the current
        one); only a chain whose every member fails to warm raises."""
        errors: list[ProviderError] = []
        for index, member in enumerate(self.members):
            try:
                await member.warm(*args)
            except ProviderError as err:
                errors.append(err)
                if index == self._current:
                    self.failed(index, err)
        if len(errors) == len(self.members):
            raise errors[-1]

    def order(self) -> list[int]:
        if self._current and time.monotonic() - self._since > self.cooldown_s:
            self._current = 0  # time to give the first provider another chance
        return list(range(self._current, len(self.members)))

    def failed(self, index: int, err: BaseException) -> None:
        if index + 1 >= len(self.members):
            return
        src, dst = self.members[index].name, self.members[index + 1].name
        self.switches[f"{src}>{dst}"] += 1
        log.warning("%s fallback: %s failed (%s); switching to %s", self.kind, src, err, dst)
        self._current, self._since = index + 1, time.monotonic()


class FallbackLLM(_Chain):
    def __init__(self, members: Sequence[LanguageModel], cooldown_s: float = 60.0) -> None:
        super().__init__("llm", members, cooldown_s)

    def count_tokens(self, text: str) -> int:
        return self.members[0].count_tokens(text)

    async def warm(self, system_prompt: str) -> None:
        await self.warm_members(system_prompt)

    async def stream(
        self, messages: Sequence[Message], max_tokens: int, tools: Any = None
    ) -> AsyncIterator[str | ToolCall]:
        error: ProviderError | None = None
        for index in self.order():
            started = False
            try:
                async with aclosing(self.members[index].stream(messages, max_tokens, tools)) as s:
                    async for item in s:
                        started = True
                        yield item
                return
            except ProviderError as err:
                self.failed(index, err)
                if started:
                    raise  # half an answer cannot be taken back; the next turn starts lower
                error = err
        assert error is not None
        raise error


class FallbackTTS(_Chain):
    def __init__(self, members: Sequence[TextToSpeech], cooldown_s: float = 60.0) -> None:
        super().__init__("tts", members, cooldown_s)
        self.rate = members[0].rate

    async def warm(self) -> None:
        await self.warm_members()

    async def stream(self, clauses: AsyncIterator[str]) -> AsyncIterator[SpeechChunk]:
        seen: list[str] = []  # every clause taken from the text stream, in order
        done = 0  # clauses whose audio is complete

        async def replay_then_rest() -> AsyncIterator[str]:
            for text in seen[done:]:
                yield text
            async for text in clauses:
                seen.append(text)
                yield text

        for index in self.order():
            offset = done
            try:
                source = replay_then_rest()
                async with aclosing(self.members[index].stream(source)) as audio:
                    async for chunk in audio:
                        clause = chunk.clause + offset
                        yield SpeechChunk(
                            chunk.pcm, chunk.rate, clause, chunk.text, chunk.last, chunk.alignment
                        )
                        if chunk.last:
                            done = clause + 1
                return
            except ProviderError as err:
                self.failed(index, err)
                if index + 1 >= len(self.members):
                    raise


class FallbackSTT(_Chain):
    def __init__(self, members: Sequence[SpeechToText], cooldown_s: float = 60.0) -> None:
        super().__init__("stt", members, cooldown_s)

    async def open_stream(self, rate: int) -> STTStream:
        stream = FallbackSTTStream(self, rate)
        await stream.open()
        return stream


class FallbackSTTStream:
    """Feeds the working provider; keeps the utterance's audio to replay on a switch."""

    MAX_KEPT_MS = 30_000

    def __init__(self, chain: FallbackSTT, rate: int) -> None:
        self.chain = chain
        self.rate = rate
        self._index = 0
        self._active: STTStream | None = None
        self._frames: deque[bytes] = deque(maxlen=self.MAX_KEPT_MS // FRAME_MS)
        self._utterance_ms: float | None = None  # as given to begin_utterance
        self._frames_since_begin = 0

    async def open(self, after: int = -1) -> None:
        error: ProviderError | None = None
        for index in [i for i in self.chain.order() if i > after]:
            try:
                self._active = await self.chain.members[index].open_stream(self.rate)
                self._index = index
                return
            except ProviderError as err:
                self.chain.failed(index, err)
                error = err
        raise error or ProviderError("no STT provider left in the chain")

    def push(self, frame: bytes) -> None:
        self._frames.append(frame)
        self._frames_since_begin += 1
        assert self._active is not None
        self._active.push(frame)

    def begin_utterance(self, started_ms_ago: float) -> None:
        self._utterance_ms = started_ms_ago
        self._frames_since_begin = 0
        assert self._active is not None
        self._active.begin_utterance(started_ms_ago)

    def end_utterance(self) -> None:
        self._utterance_ms = None
        assert self._active is not None
        self._active.end_utterance()

    async def transcribe(self) -> Transcript:
        while True:
            assert self._active is not None
            try:
                return await self._active.transcribe()
            except ProviderError as err:
                if self._index + 1 >= len(self.chain.members):
                    raise
                self.chain.failed(self._index, err)
                await self._switch()

    async def _switch(self) -> None:
        failed = self._active
        await self.open(after=self._index)
        assert self._active is not None
        for frame in self._frames:  # the new provider hears the utterance from the start
            self._active.push(frame)
        if self._utterance_ms is not None:
            self._active.begin_utterance(self._utterance_ms + self._frames_since_begin * FRAME_MS)
        if failed is not None:
            try:
                await failed.aclose()
            except ProviderError:
                pass

    async def aclose(self) -> None:
        if self._active is not None:
            await self._active.aclose()
