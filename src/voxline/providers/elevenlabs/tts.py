"""ElevenLabs streaming text to speech: clauses in, clause-tagged PCM16 chunks out.

Each clause is sent as it arrives, on a socket taken from the pool; audio comes back in the
socket's output format, is decoded to PCM16 at `rate` and cut at clause boundaries, so each
SpeechChunk carries its clause's index and text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from voxline.errors import (
    ConfigError,
    ProviderConnectError,
    ProviderError,
    ProviderTimeout,
    RateLimited,
)
from voxline.protocols import elevenlabs as el
from voxline.providers.base import SpeechChunk
from voxline.providers.elevenlabs.clauses import ClauseTracker
from voxline.providers.elevenlabs.decoder import AudioDecoder
from voxline.providers.elevenlabs.generation import Generation
from voxline.providers.elevenlabs.pool import SocketPool

_SENT = object()  # the sender's note to the receiver: text went out, start the reply clock


def _refusal(msg: el.ErrorMessage) -> ProviderError:
    text = f"ElevenLabs refused the request: {msg.message} ({msg.error})"
    kind = msg.error.lower()
    if any(word in kind for word in ("api_key", "auth", "unauthorized", "permission")):
        return ProviderConnectError(text + "; check ELEVENLABS_API_KEY")
    if any(word in kind for word in ("concurrent", "rate", "quota", "limit")):
        return RateLimited(text)
    return ProviderError(text)


class ElevenLabsTTS:
    def __init__(
        self,
        voice_id: str,
        *,
        api_key: str,
        model: str = "eleven_flash_v2_5",
        output_format: str = "pcm_16000",
        base_url: str = "wss://api.elevenlabs.io",
        warm_connections: int = 1,
        voice_settings: dict[str, Any] | None = None,
        chunk_length_schedule: tuple[int, ...] | None = None,
        auto_mode: bool = True,
        timeout_s: float = 2.0,
    ) -> None:
        if not api_key:
            raise ConfigError("ElevenLabs needs an API key; set ELEVENLABS_API_KEY")
        _, self.rate = el.format_info(output_format)
        self.name = f"elevenlabs/{model}"
        self.voice_id, self.model, self.output_format = voice_id, model, output_format
        self.base_url, self.warm_connections = base_url, warm_connections
        self.auto_mode, self.timeout_s = auto_mode, timeout_s
        self._headers = {"xi-api-key": api_key}
        self._init = el.init_message(None, voice_settings, chunk_length_schedule)
        el.stream_input_url(base_url, voice_id, model_id=model)  # validates voice and URL now
        self._pool = SocketPool(self._open, output_format, warm_connections)

    async def _open(self, output_format: str) -> Generation:
        url = el.stream_input_url(
            self.base_url,
            self.voice_id,
            model_id=self.model,
            output_format=output_format,
            auto_mode=self.auto_mode,
        )
        return await Generation(url, self._headers, output_format, self._init).open()

    async def warm(self) -> None:
        """Fill the pool of ready sockets; raises the typed error if ElevenLabs refuses."""
        await self._pool.warm()

    @staticmethod
    async def _send(gen: Generation, clauses: AsyncIterator[str], track: ClauseTracker) -> None:
        try:
            async for text in clauses:
                if not text.strip():
                    continue
                track.add(text)
                gen.socket.send(el.text_message(text, try_trigger_generation=True))
                gen.put(_SENT)
            gen.socket.send(el.flush_message())
            gen.socket.send(el.close_message())
            gen.put(_SENT)
        except Exception as err:  # noqa: BLE001 - the clause source failed: end the turn with it
            gen.put(err)

    async def stream(
        self, clauses: AsyncIterator[str], output_format: str | None = None
    ) -> AsyncIterator[SpeechChunk]:
        fmt = output_format or self.output_format
        encoding, rate = el.format_info(fmt)
        gen = await self._pool.take(fmt)
        track, decoder = ClauseTracker(rate), AudioDecoder(encoding, rate)
        sender = asyncio.get_running_loop().create_task(self._send(gen, clauses, track))
        deadline: float | None = None
        try:
            while True:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                    # (barge-in) that lands as a message arrives.
                    async with asyncio.timeout(wait):
                        item = await gen.inbox.get()
                except TimeoutError:
                    raise ProviderTimeout(
                        f"ElevenLabs sent no audio for {self.timeout_s:g} s after text was sent"
                    ) from None
                if item is _SENT:
                    deadline = deadline or time.monotonic() + self.timeout_s
                    continue
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, el.ErrorMessage):
                    raise _refusal(item)
                pcm = decoder.decode(item.audio) + (decoder.flush() if item.is_final else b"")
                for chunk in track.place(pcm, item.alignment):
                    yield chunk
                if item.is_final:
                    for chunk in track.finish():
                        yield chunk
                    return
                more = track.outstanding or sender.done()
                deadline = time.monotonic() + self.timeout_s if more else None
        finally:
            sender.cancel()
            # Wait for it to let go of `clauses`: the caller closes that generator next.
            await asyncio.wait({sender})
            self._pool.close_soon(gen)

    async def aclose(self) -> None:
        """Close the pooled sockets (process shutdown)."""
        await self._pool.aclose()
