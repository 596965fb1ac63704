"""A loopback server that speaks ElevenLabs' text-to-speech stream-input WebSocket protocol.

    async with ElevenLabsServer() as server:
        tts = ElevenLabsTTS("voice", api_key="test-key", base_url=server.base_url)

What it does (an approximation of the real service, built from its API reference):

* Handshake on `/v1/text-to-speech/{voice_id}/stream-input`; the query (model_id, output_format,
  inactivity_timeout, sync_alignment, auto_mode, ...) is parsed and kept per connection. An
  unknown path is 404, an output_format it cannot serve 400.
* Key: a wrong `xi-api-key` header refuses the handshake with 401. Without the header, the first
  message must carry `xi_api_key`; otherwise the server sends `{"message", "error":
  "invalid_api_key", "code": 1008}` and closes with 1008.
* Buffering: text is appended to a buffer. With `auto_mode=true` every text message is generated
  at once. Otherwise the buffer is generated when it reaches the next `chunk_length_schedule`
  entry (default [120, 160, 250, 290]), when `try_trigger_generation` is set and it holds at least
  50 characters (the schedule's documented minimum), on `flush`, and on the closing `{"text": ""}`.
  A whitespace-only message is a keep-alive. No text within `inactivity_timeout` closes with 1008.
* Audio is real speech from the local Piper voice (or `synthesize`), cached by text and output
  format so a benchmark measures the client, encoded as the output_format asks (pcm_* resampled
  with soxr, ulaw_8000 with G.711, mp3 with PyAV/libmp3lame), sent in ~200 ms chunks, each with
  `alignment`/`normalizedAlignment` whose character times share the audio's duration equally.
  After the close message and the last generation it sends `{"isFinal": true}` and closes (1000).
* The first audio chunk of a connection leaves `profile.draw("tts_first_chunk_ms")` after the
  first text arrived (synthesis time counts toward it); later chunks are sent as they are ready.
* Faults by connection index (every handshake counts, refused ones included): AUTH (401),
  RATE_LIMIT (429 + Retry-After), SERVER_ERROR (500), DROP_MID_STREAM (TCP abort after the first
  audio chunk), MALFORMED (a non-JSON frame in place of the first audio), SLOW_FIRST.
"""

from __future__ import annotations

import asyncio
import functools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from voxline.audio.g711 import ulaw_encode
from voxline.audio.resample import resample
from voxline.errors import ProtocolViolation
from voxline.protocols import elevenlabs as el
from voxline.testing.profile import Fault, FaultPlan, LatencyProfile

Synthesize = Callable[[str], tuple[bytes, int]]  # text -> (PCM16 mono, rate)

_PATH = re.compile(r"^/v1/text-to-speech/([^/]+)/stream-input$")
_DEFAULT_SCHEDULE = (120, 160, 250, 290)
_MIN_TRIGGER_CHARS = 50
CHUNK_MS = 200


@dataclass
class Session:
    """What one connection did, for tests and benchmarks to inspect."""

    index: int
    voice_id: str
    query: dict[str, str]
    header_key: bool
    opened_at: float = field(default_factory=time.monotonic)
    first_text_at: float | None = None
    texts: list[str] = field(default_factory=list)
    generations: list[str] = field(default_factory=list)
    audio_chunks: int = 0
    final_sent: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)


_piper_lock = threading.Lock()


@functools.cache
def _piper():
    from voxline.providers.local.piper import PiperTTS

    return PiperTTS()


@functools.lru_cache(maxsize=512)
def piper_synthesize(text: str) -> tuple[bytes, int]:
    """The default voice: Piper, cached by text across servers in this process."""
    with _piper_lock:
        tts = _piper()
        return tts.synthesize_blocking(text), tts.rate


def _encode_mp3(pcm: bytes, rate: int) -> bytes:
    import io

    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3", options={"id3v2_version": "0", "write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=rate)
        stream.bit_rate = 128000
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buf.getvalue()


def encode_chunks(
    text: str, pcm: bytes, rate: int, output_format: str, chunk_ms: int = CHUNK_MS
) -> list[tuple[bytes, el.Alignment]]:
    """One generation as (encoded audio, alignment) chunks; alignment times are chunk-relative."""
    encoding, out_rate = el.format_info(output_format)
    pcm = resample(pcm, rate, out_rate)
    total_ms = len(pcm) / 2 * 1000 / out_rate
    if encoding == "mp3":
        data = _encode_mp3(pcm, out_rate)
    elif encoding == "ulaw":
        data = ulaw_encode(pcm)
    else:
        data = pcm
    n = max(1, round(total_ms / chunk_ms))
    unit = 1 if encoding != "pcm" else 2  # cut pcm on sample boundaries
    per_char = total_ms / max(1, len(text))
    chunks = []
    for k in range(n):
        lo = len(data) * k // n // unit * unit
        hi = len(data) * (k + 1) // n // unit * unit if k < n - 1 else len(data)
        t0, t1 = total_ms * k / n, total_ms * (k + 1) / n
        align = tuple(
            (c, i * per_char - t0, per_char)
            for i, c in enumerate(text)
            if t0 <= i * per_char < t1 or (k == n - 1 and i * per_char >= t1)
        )
        chunks.append((data[lo:hi], align))
    return chunks


class ElevenLabsServer:
    def __init__(
        self,
        *,
        api_key: str = "test-key",
        profile: LatencyProfile | None = None,
        faults: FaultPlan | None = None,
        synthesize: Synthesize | None = None,
        handshake_delay_s: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.profile = profile or LatencyProfile()
        self.faults = faults or FaultPlan()
        self.handshake_delay_s = handshake_delay_s  # stands in for TLS + network round trips
        self._synthesize = synthesize or piper_synthesize
        self._cache: dict[tuple[str, str], list[tuple[bytes, el.Alignment]]] = {}
        self.connections = 0  # handshakes seen, refused ones included
        self.texts_received = 0
        self.sessions: list[Session] = []
        self._pending: dict[int, Session] = {}
        self._live: set[ServerConnection] = set()
        self._server: Server | None = None
        self.base_url = ""

    async def __aenter__(self) -> ElevenLabsServer:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._handshake, compression=None
        )
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"ws://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def open_sessions(self) -> int:
        return sum(1 for s in self.sessions if not s.closed.is_set())

    async def disconnect_all(self, code: int = 1001, reason: str = "going away") -> None:
        """Close every open connection, as a restart or an idle timeout would."""
        await asyncio.gather(*(conn.close(code, reason) for conn in list(self._live)))

    async def _handshake(self, conn: ServerConnection, request: Request) -> Response | None:
        index = self.connections
        self.connections += 1
        if self.handshake_delay_s:
            await asyncio.sleep(self.handshake_delay_s)
        url = urlsplit(request.path)
        match = _PATH.match(url.path)
        if match is None:
            return conn.respond(HTTPStatus.NOT_FOUND, "no such endpoint\n")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        fault = self.faults.active(index)
        if fault is Fault.RATE_LIMIT:
            response = conn.respond(HTTPStatus.TOO_MANY_REQUESTS, "too_many_concurrent_requests\n")
            response.headers["Retry-After"] = str(self.faults.retry_after_s)
            return response
        if fault is Fault.SERVER_ERROR:
            return conn.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n")
        key = request.headers.get("xi-api-key")
        if fault is Fault.AUTH or (key is not None and key != self.api_key):
            return conn.respond(HTTPStatus.UNAUTHORIZED, "invalid_api_key\n")
        if query.get("output_format", "mp3_44100_128") not in el.OUTPUT_FORMATS:
            return conn.respond(HTTPStatus.BAD_REQUEST, "unsupported output_format\n")
        session = Session(index, match.group(1), query, header_key=key is not None)
        self._pending[id(conn)] = session
        return None

    async def _handle(self, conn: ServerConnection) -> None:
        session = self._pending.pop(id(conn))
        self.sessions.append(session)
        self._live.add(conn)
        try:
            await self._serve(conn, session)
        except ConnectionClosed:
            pass
        finally:
            self._live.discard(conn)
            session.closed.set()

    async def _serve(self, conn: ServerConnection, session: Session) -> None:
        query = session.query
        fmt = query.get("output_format", "mp3_44100_128")
        auto = query.get("auto_mode", "false").lower() == "true"
        timeout = float(query.get("inactivity_timeout", "20"))
        fault = self.faults.active(session.index)
        work: asyncio.Queue[str | None] = asyncio.Queue()
        speaker = asyncio.create_task(self._speak(conn, session, fmt, fault, work))
        buffer, schedule, step, first = "", _DEFAULT_SCHEDULE, 0, True
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(conn.recv(), timeout)
                except TimeoutError:
                    await conn.close(
                        1008,
                        f"Have not received a new text input within the timeout of {timeout:g} "
                        "seconds. Streaming input terminated.",
                    )
                    return
                try:
                    msg = el.parse_client(raw)
                except ProtocolViolation as err:
                    await conn.send(el.error_message("invalid_message", str(err)))
                    await conn.close(1008, "invalid message")
                    return
                if first:
                    first = False
                    if not session.header_key and msg.api_key != self.api_key:
                        await conn.send(el.error_message("invalid_api_key", "Invalid API key"))
                        await conn.close(1008, "Invalid API key")
                        return
                    schedule = msg.chunk_length_schedule or schedule
                    continue
                if msg.is_close:
                    if buffer.strip():
                        work.put_nowait(buffer)
                    work.put_nowait(None)
                    break
                if msg.text.strip():
                    buffer += msg.text
                    session.texts.append(msg.text)
                    self.texts_received += 1
                    if session.first_text_at is None:
                        session.first_text_at = time.monotonic()
                threshold = schedule[min(step, len(schedule) - 1)]
                if buffer.strip() and (
                    auto
                    or msg.flush
                    or len(buffer) >= threshold
                    or (msg.try_trigger_generation and len(buffer) >= _MIN_TRIGGER_CHARS)
                ):
                    work.put_nowait(buffer)
                    buffer, step = "", step + 1
            await speaker
        finally:
            speaker.cancel()

    async def _chunks(self, text: str, fmt: str) -> list[tuple[bytes, el.Alignment]]:
        key = (text, fmt)
        if key not in self._cache:
            pcm, rate = await asyncio.to_thread(self._synthesize, text.strip())
            self._cache[key] = await asyncio.to_thread(encode_chunks, text, pcm, rate, fmt)
        return self._cache[key]

    async def _speak(
        self,
        conn: ServerConnection,
        session: Session,
        fmt: str,
        fault: Fault,
        work: asyncio.Queue[str | None],
    ) -> None:
        while (text := await work.get()) is not None:
            session.generations.append(text)
            chunks = await self._chunks(text, fmt)
            for audio, alignment in chunks:
                if session.audio_chunks == 0:
                    delay = self.profile.draw("tts_first_chunk_ms")
                    if fault is Fault.SLOW_FIRST:
                        delay += self.faults.slow_first_s
                    assert session.first_text_at is not None
                    await asyncio.sleep(max(0.0, session.first_text_at + delay - time.monotonic()))
                    if fault is Fault.MALFORMED:
                        await conn.send("{not json")
                        await conn.close(1011, "malformed")
                        return
                    self.profile.hold("tts_first_chunk", round(session.first_text_at * 1e9))
                await conn.send(el.audio_message(audio, alignment))
                session.audio_chunks += 1
                if fault is Fault.DROP_MID_STREAM:
                    conn.transport.abort()  # a network drop: no close frame
                    return
        await conn.send(el.final_message())
        session.final_sent = True
        await conn.close(1000)
