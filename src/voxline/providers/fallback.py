"""Fallback chains: `[deepgram/nova-3, local/whisper-tiny.en]` as one provider.

A chain is a wrapper, not a branch at every call site. It switches on a connect failure or a
fault in the middle of a call, logs and counts the switch, and keeps the caller talking:

* LLM: a provider that fails before its first token is skipped for this request; one that fails
  mid-answer ends this answer (the engine apologises) and the next request starts further down.
* TTS: clauses not yet fully spoken are replayed to the next provider, so the answer goes on.
* STT: the call's recent audio, and where its utterances began and ended, are replayed into the
  next provider's stream, which gives the transcript the failed one was asked for.
After `cooldown_s` a chain tries its first provider again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from itertools import islice
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
    """Feeds the working provider, and keeps what it was fed (the call's recent audio, and where
    utterances began and ended) to replay into the next provider on a switch.

    A transcript asked of a provider that fails is asked of the next one, as of the same moment:
    the next provider is fed what the failed one had been fed when it was asked (so an utterance
    the endpoint has ended since is still the one transcribed), then what came after.
    """

    MAX_KEPT_MS = 30_000

    def __init__(self, chain: FallbackSTT, rate: int) -> None:
        self.chain = chain
        self.rate = rate
        self._index = 0
        self._active: STTStream | None = None
        # What was fed, in order: a frame (bytes), begin_utterance (its ms), end_utterance (None).
        self._fed: deque[bytes | float | None] = deque()
        self._fed_total = 0  # items ever fed; `_fed` holds the last of them
        self._fed_frames = 0
        self._head_begin: float | None = None  # an utterance open before `_fed[0]`: its ms ago
        self._switching: asyncio.Future[None] | None = None  # a replay is under way
        self._closing: set[asyncio.Task[None]] = set()
        self._earlier_reconnections = 0  # of the providers switched away from

    async def open(self) -> None:
        self._active = await self._open_after(-1)

    async def _open_after(self, after: int) -> STTStream:
        error: ProviderError | None = None
        for index in [i for i in self.chain.order() if i > after]:
            try:
                stream = await self.chain.members[index].open_stream(self.rate)
            except ProviderError as err:
                self.chain.failed(index, err)
                error = err
                continue
            self._index = index
            return stream
        raise error or ProviderError("no STT provider left in the chain")

    def _feed(self, item: bytes | float | None) -> None:
        self._fed.append(item)
        self._fed_total += 1
        self._fed_frames += isinstance(item, bytes)
        while self._fed_frames > self.MAX_KEPT_MS // FRAME_MS:
            old = self._fed.popleft()
            if not isinstance(old, bytes):
                self._head_begin = old
                continue
            self._fed_frames -= 1
            if self._head_begin is not None:
                self._head_begin += FRAME_MS
        if self._switching is None:  # during a switch, the replay catches the new one up
            assert self._active is not None
            _give(self._active, item)

    def push(self, frame: bytes) -> None:
        self._feed(frame)

    def begin_utterance(self, started_ms_ago: float) -> None:
        self._feed(float(started_ms_ago))

    def end_utterance(self) -> None:
        self._feed(None)

    async def transcribe(self) -> Transcript:
        asked_at = self._fed_total
        while True:
            if self._switching is not None:
                await asyncio.shield(self._switching)
            stream = self._active
            assert stream is not None
            try:
                return await stream.transcribe()
            except ProviderError as err:
                if self._switching is not None or stream is not self._active:
                    continue  # another transcription is switching: ask the next provider
                if self._index + 1 >= len(self.chain.members):
                    raise
                self.chain.failed(self._index, err)
                return await self._switch(asked_at)

    async def _switch(self, asked_at: int) -> Transcript:
        """Move to the next provider; return its transcript as of `asked_at` items fed."""
        failed = self._active
        done = asyncio.get_running_loop().create_future()
        self._switching = done
        try:
            while True:
                stream = await self._open_after(self._index)
                base = self._fed_total - len(self._fed)
                if self._head_begin is not None:
                    stream.begin_utterance(self._head_begin)
                for item in islice(self._fed, 0, max(0, asked_at - base)):
                    _give(stream, item)
                adopt = True  # also when this transcription is cancelled (the caller went on)
                try:
                    return await stream.transcribe()
                except ProviderError as err:
                    if self._index + 1 >= len(self.chain.members):
                        raise  # the last provider is kept: it may answer the next time
                    adopt = False
                    self.chain.failed(self._index, err)
                    self._close_soon(stream)
                finally:
                    if adopt:
                        self._adopt(stream, asked_at)
        finally:
            self._switching = None
            done.set_result(None)
            if failed is not None and failed is not self._active:
                self._close_soon(failed)

    def _adopt(self, stream: STTStream, replayed: int) -> None:
        """Make `stream` the active one, fed what came after the first `replayed` items."""
        base = self._fed_total - len(self._fed)
        for item in islice(self._fed, max(0, replayed - base), None):
            _give(stream, item)
        self._earlier_reconnections += getattr(self._active, "reconnections", 0)
        self._active = stream

    @property
    def reconnections(self) -> int:
        """Reconnections of every provider this call has used, the active one included."""
        return self._earlier_reconnections + getattr(self._active, "reconnections", 0)

    def _close_soon(self, stream: STTStream) -> None:
        """Close a stream we have moved away from without holding up the turn."""
        task = asyncio.get_running_loop().create_task(_close_quietly(stream))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        if self._active is not None:
            await self._active.aclose()
        if self._closing:
            await asyncio.gather(*self._closing)


def _give(stream: STTStream, item: bytes | float | None) -> None:
    if isinstance(item, bytes):
        stream.push(item)
    elif item is None:
        stream.end_utterance()
    else:
        stream.begin_utterance(item)


async def _close_quietly(stream: STTStream) -> None:
    try:
        await stream.aclose()
    except ProviderError as err:
        log.info("closing an STT stream that failed: %s", err)
