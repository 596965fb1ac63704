"""The three provider interfaces: speech to text, language model, text to speech.

Each is a small `typing.Protocol`. A provider object is created once per process (models load
once and are shared by calls); per-call state lives in the stream objects it opens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# OpenAI-style chat messages: {"role", "content"}, plus "tool_calls" on assistant messages and
# "tool_call_id" on tool results.
Message = dict[str, Any]


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None = None  # 0..1 where the engine reports one


@runtime_checkable
class STTStream(Protocol):
    """One call's audio going to an STT engine.

    Every inbound 20 ms frame is pushed, speech or not: streaming vendors want the continuous
    signal, and batch models keep only a bounded window around the utterance. The turn engine
    tells the stream where an utterance began, asks for its transcript as soon as silence starts
    (speculatively; it may cancel that request if the caller goes on), and ends it.
    """

    def push(self, frame: bytes) -> None: ...

    def begin_utterance(self, started_ms_ago: float) -> None: ...

    async def transcribe(self) -> Transcript: ...

    def end_utterance(self) -> None: ...

    async def aclose(self) -> None: ...


class EndpointingSTTStream(STTStream, Protocol):
    """A stream whose provider decides where turns end (Deepgram's `speech_final`).

    The engine sets `on_endpoint`; the stream calls it with the utterance's final transcript
    when the provider declares the end of the turn. The local VAD still drives barge-in.
    """

    on_endpoint: Callable[[Transcript], None] | None


class SpeechToText(Protocol):
    name: str

    async def open_stream(self, rate: int) -> STTStream: ...


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call, assembled from the streamed fragments."""

    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


class LanguageModel(Protocol):
    name: str

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | ToolCall]:
        """Yield content tokens as they are generated, and tool calls once complete.

        `tools` are OpenAI-style tool definitions. Cancelling the iteration stops generation.
        """
        ...

    def count_tokens(self, text: str) -> int: ...

    async def warm(self, system_prompt: str) -> None:
        """Evaluate the system prompt once so the first turn pays only for the new tokens."""
        ...


@dataclass(frozen=True)
class SpeechChunk:
    """A piece of synthesized audio (PCM16 mono at `rate`) and the clause it belongs to."""

    pcm: bytes
    rate: int
    clause: int  # index of the clause in the turn's text stream
    text: str  # that clause's text, repeated on each of its chunks
    last: bool  # the clause's final chunk
    # Where the provider says each character is spoken in this chunk's audio:
    # (character, start_ms, duration_ms), for mapping a playout position to text.
    alignment: tuple[tuple[str, float, float], ...] | None = None


class TextToSpeech(Protocol):
    name: str
    rate: int

    def stream(self, clauses: AsyncIterator[str]) -> AsyncIterator[SpeechChunk]:
        """Turn a stream of clauses into a stream of audio chunks, in order, starting on the first."""
        ...

    async def warm(self) -> None: ...
