"""ElevenLabs streaming text to speech over the stream-input WebSocket.

A stream-input socket serves one generation, and its handshake (TLS + HTTP upgrade, ~100-300 ms
from a data centre) would otherwise sit in front of every reply. So the provider keeps a small
pool of sockets already opened and initialised (`warm()` at start-up), takes one per turn and
opens its replacement in the background. Idle pooled sockets send the documented keep-alive (a
single space) and ask for the longest inactivity timeout.

Each clause is sent as it arrives; audio comes back as PCM16 at `rate` (ulaw decoded with G.711,
mp3 with PyAV) and is cut at clause boundaries using the per-character alignment the server sends
with every chunk (`sync_alignment=true`), so each SpeechChunk carries its clause's index and text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from voxline.audio.g711 import ulaw_decode
from voxline.errors import (
    ConfigError,
    ProtocolViolation,
    ProviderConnectError,
    ProviderError,
    ProviderTimeout,
    RateLimited,
)
from voxline.protocols import elevenlabs as el
from voxline.providers.base import SpeechChunk
from voxline.providers.streaming_ws import StreamingSocket

log = logging.getLogger(__name__)

_INBOX = 2000  # server messages held per generation (~400 s of audio in 200 ms chunks)
_KEEPALIVE_S = 15.0
_SENT = object()  # the sender's note to the receiver: text went out, start the reply clock


class ClauseTracker:
    """Maps audio with per-character alignment to the clauses its characters came from.

    Only non-space characters are counted, so the server's whitespace handling does not matter.
    A clause's `last` chunk is emitted when the next clause's first character is heard (audio
    before that character in the same message is cut there) or at the end of the generation;
    audio without alignment goes to the current clause, in order.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.texts: list[str] = []
        self._owner: list[int] = []  # clause index of every non-space character sent
        self._pos = 0  # characters the alignment has covered so far
        self._current = 0

    def add(self, text: str) -> None:
        index = len(self.texts)
        self.texts.append(text)
        self._owner.extend(index for c in text if not c.isspace())

    @property
    def outstanding(self) -> bool:
        """Text has been sent whose audio has not arrived."""
        return self._pos < len(self._owner)

    def _chunk(self, clause: int, pcm: bytes, last: bool, align: list[Any]) -> SpeechChunk:
        return SpeechChunk(pcm, self.rate, clause, self.texts[clause], last, tuple(align) or None)

    def place(self, pcm: bytes, alignment: el.Alignment | None) -> list[SpeechChunk]:
        if not self.texts:
            return []
        samples = len(pcm) // 2
        cuts: list[tuple[int, int]] = []  # (sample offset, clause starting there)
        seen_current = False
        for char, start_ms, _ in alignment or ():
            if char.isspace():
                continue
            clause = self._owner[self._pos] if self._pos < len(self._owner) else self._current
            self._pos = min(self._pos + 1, len(self._owner))
            before = cuts[-1][1] if cuts else self._current
            if clause > before:
                # Audio ahead of a new clause's first character in this message is its lead-in.
                at = 0 if not seen_current and not cuts else round(start_ms * self.rate / 1000)
                cuts.append((min(samples, at), clause))
            seen_current = True
        bounds = [0] + [at for at, _ in cuts]
        owners = [self._current] + [c for _, c in cuts]
        ms = [b * 1000 / self.rate for b in bounds]
        aligns: list[list[tuple[str, float, float]]] = [[] for _ in bounds]
        for char, start_ms, dur in alignment or ():
            i = max(0, bisect_right(ms, start_ms) - 1)
            aligns[i].append((char, start_ms - ms[i], dur))
        out = []
        for i, (lo, owner) in enumerate(zip(bounds, owners)):
            hi = bounds[i + 1] if i + 1 < len(bounds) else samples
            last = i + 1 < len(bounds)
            if hi > lo or last:
                out.append(self._chunk(owner, pcm[lo * 2 : hi * 2], last, aligns[i]))
            if last:
                for skipped in range(owner + 1, owners[i + 1]):
                    out.append(self._chunk(skipped, b"", True, []))
        self._current = owners[-1]
        return out

    def finish(self) -> list[SpeechChunk]:
        """End of the generation: close the current clause and any that got no audio."""
        return [self._chunk(c, b"", True, []) for c in range(self._current, len(self.texts))]


class _Decoder:
    """An output format's audio to PCM16 mono at its rate, chunk by chunk."""

    def __init__(self, encoding: str, rate: int) -> None:
        self.encoding = encoding
        self._odd = b""
        if encoding == "mp3":
            import av

            self._codec = av.CodecContext.create("mp3", "r")
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)

    def _mp3(self, data: bytes | None) -> bytes:
        import av

        out = []
        try:
            packets: list = self._codec.parse(data)  # parse(None) flushes the parser,
            if data is None:
                packets.append(None)  # and a None packet drains the decoder
            for packet in packets:
                for frame in self._codec.decode(packet):
                    out += [f.to_ndarray().tobytes() for f in self._resampler.resample(frame)]
        except av.error.FFmpegError as err:
            raise ProtocolViolation(f"ElevenLabs sent mp3 that does not decode: {err}") from None
        return b"".join(out)

    def decode(self, data: bytes) -> bytes:
        if self.encoding == "mp3":
            return self._mp3(data)
        if self.encoding == "ulaw":
            return ulaw_decode(data)
        data, self._odd = self._odd + data, b""
        if len(data) % 2:
            data, self._odd = data[:-1], data[-1:]
        return data

    def flush(self) -> bytes:
        return self._mp3(None) if self.encoding == "mp3" else b""


def _refusal(msg: el.ErrorMessage) -> ProviderError:
    text = f"ElevenLabs refused the request: {msg.message} ({msg.error})"
    kind = msg.error.lower()
    if any(word in kind for word in ("api_key", "auth", "unauthorized", "permission")):
        return ProviderConnectError(text + "; check ELEVENLABS_API_KEY")
    if any(word in kind for word in ("concurrent", "rate", "quota", "limit")):
        return RateLimited(text)
    return ProviderError(text)


class _Generation:
    """One stream-input socket, opened and initialised ahead of use; serves one turn."""

    def __init__(self, url: str, headers: dict[str, str], output_format: str, init: str) -> None:
        self.output_format = output_format
        self.inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=_INBOX)
        self.in_use = False
        self.final = False
        self.failed = False
        self._init = init
        self.socket = StreamingSocket(
            url,
            name="elevenlabs",
            headers=headers,
            on_message=self._on_message,
            on_give_up=self._on_give_up,
            keepalive=lambda: None if self.in_use else el.keepalive_message(),
            keepalive_interval_s=_KEEPALIVE_S,
            reconnect=False,  # a generation's context lives on the server; a new socket loses it
            max_reconnects=0,
        )

    async def open(self) -> _Generation:
        await self.socket.connect()
        self.socket.send(self._init)
        return self

    @property
    def usable(self) -> bool:
        # Not `socket.connected`: that turns true only once the socket's own task has started.
        return self.socket.error is None and not (self.failed or self.final or self.in_use)

    def put(self, item: Any) -> None:
        try:
            self.inbox.put_nowait(item)
        except asyncio.QueueFull:
            self.failed = True

    def _on_message(self, raw: str | bytes) -> None:
        try:
            msg: Any = el.parse(raw)
        except ProtocolViolation as err:
            msg, self.failed = err, True
        if isinstance(msg, el.AudioMessage) and msg.is_final:
            self.final = True
        elif isinstance(msg, el.ErrorMessage):
            self.failed = True
        self.put(msg)

    def _on_give_up(self, err: BaseException) -> None:
        if self.final:
            return  # the server closes once it has sent isFinal
        self.failed = True
        self.put(ProviderError(f"ElevenLabs connection lost before the end of the audio: {err}"))

    def close_soon(self, tasks: set[asyncio.Task[None]]) -> None:
        """Close without waiting for the server (barge-in, or a socket no longer wanted)."""
        task = asyncio.get_running_loop().create_task(self.socket.close(drain_timeout_s=0.0))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


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
        timeout_s: float = 5.0,
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
        self._pool: deque[_Generation] = deque()
        self._refill: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _new(self, output_format: str) -> _Generation:
        url = el.stream_input_url(
            self.base_url,
            self.voice_id,
            model_id=self.model,
            output_format=output_format,
            auto_mode=self.auto_mode,
        )
        return _Generation(url, self._headers, output_format, self._init)

    async def _fill(self) -> None:
        for gen in [g for g in self._pool if not g.usable]:  # closed by the server while idle
            self._pool.remove(gen)
            gen.close_soon(self._tasks)
        for _ in range(self.warm_connections - len(self._pool)):
            self._pool.append(await self._new(self.output_format).open())

    async def warm(self) -> None:
        """Fill the pool of ready sockets; raises the typed error if ElevenLabs refuses."""
        if self._refill is not None and not self._refill.done():
            await asyncio.shield(self._refill)
        await self._fill()

    def _refill_soon(self) -> None:
        if self.warm_connections and (self._refill is None or self._refill.done()):
            self._refill = asyncio.get_running_loop().create_task(self._fill())
            self._refill.add_done_callback(_log_refill)

    async def _take(self, output_format: str) -> _Generation:
        if output_format == self.output_format:
            while self._pool:
                gen = self._pool.popleft()
                if gen.usable:
                    gen.in_use = True
                    self._refill_soon()
                    return gen
                gen.close_soon(self._tasks)
            self._refill_soon()
        gen = await self._new(output_format).open()
        gen.in_use = True
        return gen

    @staticmethod
    async def _send(gen: _Generation, clauses: AsyncIterator[str], track: ClauseTracker) -> None:
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
        except Exception as err:  # the clause source failed: end the turn with its error
            gen.put(err)

    async def stream(
        self, clauses: AsyncIterator[str], output_format: str | None = None
    ) -> AsyncIterator[SpeechChunk]:
        fmt = output_format or self.output_format
        encoding, rate = el.format_info(fmt)
        gen = await self._take(fmt)
        track, decoder = ClauseTracker(rate), _Decoder(encoding, rate)
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
            gen.close_soon(self._tasks)

    async def aclose(self) -> None:
        """Close the pooled sockets (process shutdown)."""
        if self._refill is not None:
            self._refill.cancel()
        while self._pool:
            await self._pool.popleft().socket.close(drain_timeout_s=0.0)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _log_refill(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        # The next turn opens its own socket and raises the typed error where it can be handled.
        log.warning("elevenlabs: could not refill the socket pool: %s", task.exception())
