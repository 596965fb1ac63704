"""A Deepgram live-streaming server on loopback, for tests and benchmarks.

It speaks the documented ``/v1/listen`` protocol (built and parsed by ``protocols.deepgram``)
and listens for real: incoming audio is decoded (linear16, mu-law or A-law), resampled to
16 kHz, and run through WebRTC's VAD and voxline's pure ``Endpointer``. Speech onset sends
``SpeechStarted``; interim results flow while speech goes on; ``endpointing`` ms of silence
sends the final with ``speech_final``; ``utterance_end_ms`` after the last word sends
``UtteranceEnd``; ``Finalize`` flushes pending audio into a ``from_finalize`` final;
``CloseStream`` finalizes, sends ``Metadata`` and closes. Times restart at 0 per connection.

What is said comes from ``transcripts``: a list of strings consumed one per utterance, or a
callable given each utterance's 16 kHz PCM16 audio (e.g. the local Whisper). Finals are delayed
by ``profile.draw("stt_final_ms")``; ``faults`` injects failures per connection index.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from voxline.audio.g711 import alaw_decode, ulaw_decode
from voxline.audio.resample import StreamResampler
from voxline.errors import ConfigError, ProtocolViolation
from voxline.protocols import deepgram as dg
from voxline.testing.profile import Fault, FaultPlan, LatencyProfile
from voxline.vad import (
    Endpoint,
    Endpointer,
    EndpointingConfig,
    SilenceStarted,
    SpeechStarted,
    make_detector,
)

log = logging.getLogger(__name__)

# webrtcvad's rates: audio at one of them is heard as sent, any other is resampled to 16 kHz.
VAD_RATES = (8000, 16000, 32000, 48000)
RESAMPLED_RATE = 16000
INTERIM_EVERY_S = 0.8  # Deepgram sends interim results about every second
WORDS_PER_S = 2.5  # how fast a scripted transcript is revealed in interim results
DROP_AFTER_S = 1.0  # DROP_MID_STREAM: audio received before the connection is cut
LOOPBACK = ("127.0.0.1", "::1", "localhost")

Transcripts = Callable[[bytes, int], str] | Sequence[str]
_Thunk = Callable[[], Awaitable[str | None]]


class _Utterance:
    def __init__(
        self, start: float, audio: bytes, scripted: str | None, continues_line: bool = False
    ) -> None:
        self.start = start
        self.last_voiced = start
        self.audio = bytearray(audio)
        self.scripted = scripted  # the queued transcript this utterance will consume
        self.continues_line = continues_line  # consumes nothing: its line was transcribed
        self.last_interim = start


class DeepgramServer:
    def __init__(
        self,
        *,
        api_key: str = "test-key",
        transcripts: Transcripts | None = None,
        profile: LatencyProfile | None = None,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        confidence: float | Sequence[float] = 0.93,
        idle_timeout_s: float = 10.0,
        line_gap_s: float | None = None,
    ) -> None:
        if host not in LOOPBACK:
            raise ConfigError(f"DeepgramServer listens on loopback only, not {host!r}")
        self.api_key = api_key
        self._callable = transcripts if callable(transcripts) else None
        self._queue: deque[str] = deque([] if callable(transcripts) else (transcripts or ()))
        self.profile = profile or LatencyProfile()
        self.faults = faults or FaultPlan()
        self.host, self.port = host, port
        # One value, or one per final result in turn (cycled).
        single = isinstance(confidence, (int, float))
        self._confidences = [confidence] if single else list(confidence)  # type: ignore[arg-type]
        self._finals_made = 0
        self.idle_timeout_s = idle_timeout_s
        # With scripted transcripts, speech that resumes within `line_gap_s` of the last voiced
        # audio continues the same caller line (a pause, or a Finalize sent speculatively at a
        # pause): its final is empty instead of taking the next line out of turn.
        self.line_gap_s = line_gap_s
        self.connections = 0  # handshakes attempted, refused ones included
        self.audio_bytes = 0
        self.keepalives = self.finalizes = self.close_streams = 0
        self.finals: list[str] = []  # final transcripts sent, in order
        self._accepted: dict[ServerConnection, tuple[int, dg.ListenParams, Fault]] = {}
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1/listen"

    async def __aenter__(self) -> DeepgramServer:
        self._server = await serve(
            self._session, self.host, self.port, process_request=self._check, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        index = self.connections
        self.connections += 1
        fault = self.faults.active(index)
        if fault is Fault.AUTH or request.headers.get("Authorization") != f"Token {self.api_key}":
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
        if fault is Fault.RATE_LIMIT:
            response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "too many requests\n")
            response.headers["Retry-After"] = f"{self.faults.retry_after_s:g}"
            return response
        if fault is Fault.SERVER_ERROR:
            return connection.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n")
        parts = urlsplit(request.path)
        if parts.path != "/v1/listen":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        try:
            params = dg.parse_listen_query(parts.query)
        except ProtocolViolation as err:
            return connection.respond(HTTPStatus.BAD_REQUEST, f"{err}\n")
        if params.channels != 1:
            return connection.respond(HTTPStatus.BAD_REQUEST, "this server takes mono audio\n")
        self._accepted[connection] = (index, params, fault)
        return None

    async def _session(self, ws: ServerConnection) -> None:
        index, params, fault = self._accepted.pop(ws)
        await _Session(self, ws, params, fault).run()

    def _next_scripted(self) -> str | None:
        return self._queue[0] if self._queue else None

    def _next_confidence(self) -> float:
        value = self._confidences[self._finals_made % len(self._confidences)]
        self._finals_made += 1
        return float(value)

    def _take_scripted(self) -> str:
        if not self._queue:
            log.warning("DeepgramServer: no scripted transcript left; sending an empty final")
            return ""
        return self._queue.popleft()


class _Session:
    """One connection: audio in, VAD and endpointing, results out (in order, delayed)."""

    def __init__(
        self, server: DeepgramServer, ws: ServerConnection, params: dg.ListenParams, fault: Fault
    ) -> None:
        self.server, self.ws, self.params, self.fault = server, ws, params, fault
        self.loop = asyncio.get_running_loop()
        self.request_id = str(uuid.uuid4())
        rate = params.sample_rate
        self.vad_rate = rate if rate in VAD_RATES else RESAMPLED_RATE  # of utterance audio too
        self.vad = make_detector("webrtc", rate=self.vad_rate)
        self.frame_bytes = self.vad_rate // 50 * 2  # 20 ms of PCM16
        window = params.endpointing_ms or params.utterance_end_ms or 1000
        config = EndpointingConfig(min_speech_ms=100, trailing_silence_ms=window)
        self.endpointer = Endpointer(config)
        self.resampler = StreamResampler(rate, self.vad_rate) if rate != self.vad_rate else None
        self.odd = b""
        self.pcm = bytearray()  # audio at vad_rate not yet a whole frame
        self.received = 0  # samples at the client's rate
        self.frames = 0
        self.recent: deque[tuple[float, bytes]] = deque(maxlen=15)  # pre-roll for utterances
        self.utt: _Utterance | None = None
        self.cursor = 0.0  # end of the last final result, seconds
        self.line_last_voiced: float | None = None  # of the last finalized utterance
        self.utterance_end_from: float | None = None  # last word end awaiting UtteranceEnd
        self.finals = 0
        self.interim_pending = False
        # (due, result, when the final's request arrived: None for interim results and events)
        self.outbox: asyncio.Queue[tuple[float, _Thunk, int | None] | None] = asyncio.Queue()

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        graceful = False
        try:
            graceful = await self._receive_loop()
        except ConnectionClosed:
            pass
        finally:
            if graceful:
                self.outbox.put_nowait(None)
                await sender
                await self.ws.close()
            else:
                sender.cancel()

    async def _receive_loop(self) -> bool:
        """Read until CloseStream (True) or the connection ends (False)."""
        while True:
            try:
                message = await asyncio.wait_for(self.ws.recv(), self.server.idle_timeout_s)
            except TimeoutError:  # Deepgram's NET-0001: no audio and no KeepAlive for too long
                await self.ws.close(1011, "NET-0001: no audio or KeepAlive within the timeout")
                return False
            if isinstance(message, bytes):
                if not self._audio(message):
                    return False
                continue
            try:
                kind = dg.parse_control(message)
            except ProtocolViolation as err:
                log.warning("DeepgramServer: %s", err)
                continue
            if kind == "KeepAlive":
                self.server.keepalives += 1
            elif kind == "Finalize":
                self.server.finalizes += 1
                self._finalize(speech_final=False, from_finalize=True)
            else:
                self.server.close_streams += 1
                if self.utt is not None:
                    self._finalize(speech_final=False, from_finalize=False)
                duration = self.received / self.params.sample_rate
                created = datetime.now(UTC).isoformat(timespec="milliseconds")
                text = dg.metadata_message(self.request_id, duration, created=created)
                self._emit(0.0, text)
                return True

    # -- audio ------------------------------------------------------------------------------

    def _audio(self, data: bytes) -> bool:
        first = self.received == 0
        self.server.audio_bytes += len(data)
        encoding = self.params.encoding
        if encoding == "linear16":
            data = self.odd + data
            cut = len(data) & ~1
            data, self.odd = data[:cut], data[cut:]
            pcm = data
        else:
            pcm = ulaw_decode(data) if encoding == "mulaw" else alaw_decode(data)
        self.received += len(pcm) // 2
        if first and self.fault is Fault.MALFORMED:
            self._emit(0.0, "this is not JSON {")
        cut = DROP_AFTER_S * self.params.sample_rate
        if self.fault is Fault.DROP_MID_STREAM and self.received >= cut:
            log.info("DeepgramServer: dropping the connection (fault injection)")
            self.ws.transport.abort()
            return False
        self.pcm += pcm if self.resampler is None else self.resampler.process(pcm)
        size = self.frame_bytes
        while len(self.pcm) >= size:
            frame = bytes(self.pcm[:size])
            del self.pcm[:size]
            self._frame(frame)
        return True

    def _frame(self, frame: bytes) -> None:
        start = self.frames * 0.02
        self.frames += 1
        now = self.frames * 0.02
        self.recent.append((start, frame))
        voiced = self.vad.speech_probability(frame) >= 0.5
        events = self.endpointer.process(1.0 if voiced else 0.0)
        utt = self.utt
        if utt is not None:
            utt.audio += frame
            if voiced:
                utt.last_voiced = now
        elif voiced and self.endpointer.in_speech:
            # Speech goes on after a Finalize cut the utterance: a new one starts here.
            self.utt = self._new_utterance(start, frame)
            self.utt.last_voiced = now
        for event in events:
            if isinstance(event, SpeechStarted):
                begin = event.start_ms / 1000
                audio = b"".join(f for t, f in self.recent if t >= begin - 0.1)
                self.utt = self._new_utterance(begin, audio)
                self.utt.last_voiced = now
                self.utterance_end_from = None
                if self.params.vad_events:
                    self._emit(0.0, dg.speech_started_message(begin))
            elif isinstance(event, SilenceStarted) and self.utt is not None:
                self.utt.last_voiced = event.speech_end_ms / 1000
            elif isinstance(event, Endpoint) and self.utt is not None:
                endpointing = self.params.endpointing_ms is not None
                self._finalize(speech_final=endpointing, from_finalize=False)
        if self.utt is not None and self.params.interim_results:
            if now - self.utt.last_interim >= INTERIM_EVERY_S:
                self.utt.last_interim = now
                self._interim(now)
        self._maybe_utterance_end(now)

    def _new_utterance(self, start: float, audio: bytes) -> _Utterance:
        gap, last = self.server.line_gap_s, self.line_last_voiced
        if gap is not None and last is not None and start - last < gap:
            return _Utterance(start, audio, None, continues_line=True)
        return _Utterance(start, audio, self.server._next_scripted())

    def _maybe_utterance_end(self, now: float) -> None:
        limit = self.params.utterance_end_ms
        if limit is None or not self.params.interim_results or self.utterance_end_from is None:
            return
        if now - self.utterance_end_from >= limit / 1000:
            self._emit(0.0, dg.utterance_end_message(self.utterance_end_from))
            self.utterance_end_from = None

    # -- results ----------------------------------------------------------------------------

    def _interim(self, now: float) -> None:
        utt, start, duration = self.utt, self.cursor, now - self.cursor
        assert utt is not None
        if self.server._callable is not None:
            if self.interim_pending:  # one model run at a time: skip rather than pile up
                return
            self.interim_pending = True
            audio, fn = bytes(utt.audio), self.server._callable

            async def text() -> str:
                try:
                    said = await asyncio.to_thread(fn, audio, self.vad_rate)
                finally:
                    self.interim_pending = False
                return self._results(
                    said, start, duration, utt.start, now, False, False, False, 0.5
                )

            self.outbox.put_nowait((0.0, text, None))
            return
        words = (utt.scripted or "").split()
        shown = min(len(words) - 1, max(1, int((now - utt.start) * WORDS_PER_S)))
        if shown > 0:
            said = " ".join(words[:shown])
            self._emit(
                0.0, self._results(said, start, duration, utt.start, now, False, False, False, 0.5)
            )

    def _finalize(self, *, speech_final: bool, from_finalize: bool) -> None:
        received_ns = time.monotonic_ns()
        utt, self.utt = self.utt, None
        # A final covers all audio received, also what the resampler still holds back.
        now = max(self.frames * 0.02, self.received / self.params.sample_rate)
        start, duration = self.cursor, max(0.0, now - self.cursor)
        self.cursor = now
        delay = self.server.profile.draw("stt_final_ms")
        if self.fault is Fault.SLOW_FIRST and self.finals == 0:
            delay += self.server.faults.slow_first_s
        self.finals += 1
        due = self.loop.time() + delay
        if utt is None:
            message = self._results(
                "", start, duration, now, now, True, speech_final, from_finalize, 0.0
            )
            self.outbox.put_nowait((due, _constant(message), received_ns))
            return
        self.utterance_end_from = utt.last_voiced
        words_from, words_to = utt.start, utt.last_voiced
        fn = self.server._callable
        self.line_last_voiced = utt.last_voiced
        if fn is not None:
            scripted = None
        else:
            scripted = "" if utt.continues_line else self.server._take_scripted()
        audio = bytes(utt.audio)

        async def text() -> str:
            said = scripted if fn is None else await asyncio.to_thread(fn, audio, self.vad_rate)
            self.server.finals.append(said)
            confidence = self.server._next_confidence() if said.strip() else 0.0
            return self._results(
                said, start, duration, words_from, words_to, True, speech_final, from_finalize,
                confidence,
            )

        self.outbox.put_nowait((due, text, received_ns))

    def _results(
        self, said: str, start: float, duration: float, words_from: float, words_to: float,
        is_final: bool, speech_final: bool, from_finalize: bool, confidence: float,
    ) -> str:
        return dg.results_message(
            said, start=start, duration=duration, is_final=is_final, speech_final=speech_final,
            from_finalize=from_finalize, confidence=confidence,
            words=dg.make_words(said, words_from, words_to, confidence),
            request_id=self.request_id,
        )

    def _emit(self, due: float, text: str) -> None:
        self.outbox.put_nowait((due, _constant(text), None))

    async def _send_loop(self) -> None:
        """Send results in order; a delayed final holds back what comes after it."""
        try:
            while (item := await self.outbox.get()) is not None:
                due, make, received_ns = item
                text = await make()
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if received_ns is not None:
                    self.server.profile.hold("stt_final", received_ns)
                if text is not None:
                    await self.ws.send(text)
        except ConnectionClosed:
            pass  # the client went away; nothing left to tell it
        except Exception:
            log.exception("DeepgramServer: producing a result failed; closing with 1011")
            await self.ws.close(1011, "internal error")


def _constant(text: str) -> _Thunk:
    async def make() -> str:
        return text

    return make

