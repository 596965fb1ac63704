"""Telephone audio (8 kHz) into an STT engine that only takes 16 kHz (Whisper).

Phone calls hand the turn engine 8 kHz frames (session/call.py): the cloud STT takes them as they
are, while a local Whisper stream gets each frame upsampled here, by the same half-band filter a
phone transport would otherwise run for every call (audio/halfband.py).
"""

from __future__ import annotations

from voxline.audio.frames import ENGINE_RATE
from voxline.audio.halfband import Upsampler2x
from voxline.errors import ProviderError
from voxline.providers.base import STTStream, Transcript

TELEPHONE_RATE = 8000


class UpsampledStream:
    """An STTStream that takes 8 kHz frames and feeds a 16 kHz one."""

    def __init__(self, inner: STTStream) -> None:
        self._inner = inner
        self._up = Upsampler2x()

    def push(self, frame: bytes) -> None:
        self._inner.push(self._up.process(frame))

    def begin_utterance(self, started_ms_ago: float) -> None:
        self._inner.begin_utterance(started_ms_ago)

    async def transcribe(self) -> Transcript:
        return await self._inner.transcribe()

    def end_utterance(self) -> None:
        self._inner.end_utterance()

    async def aclose(self) -> None:
        await self._inner.aclose()


def at_engine_rate(stream: STTStream, rate: int, name: str) -> STTStream:
    """`stream` (16 kHz in) for audio at `rate`: as it is, or behind the 2:1 upsampler."""
    if rate == ENGINE_RATE:
        return stream
    if rate == TELEPHONE_RATE:
        return UpsampledStream(stream)
    raise ProviderError(f"{name} takes {ENGINE_RATE} or {TELEPHONE_RATE} Hz audio, got {rate} Hz")
