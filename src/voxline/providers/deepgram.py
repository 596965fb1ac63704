"""Deepgram streaming speech to text (Nova models over ``wss://api.deepgram.com/v1/listen``).

The socket is opened by ``open_stream`` so the first turn pays no handshake. Every pushed frame
goes to Deepgram, SEND_CHUNK_MS at a time (Deepgram takes 20-250 ms chunks; one message per
20 ms frame cost the worker a socket send and a task switch per frame per call); what is held
goes out at once before ``Finalize``, ``CloseStream`` and at the end of an utterance, so no
transcript waits for it. Final results are kept with their position in the call's audio, and
``transcribe()`` sends ``Finalize`` and waits until final results (normally the answering
``from_finalize`` one) cover the audio pushed before it, then returns the words of the utterance
that was under way when it was called (even if the endpoint has ended it since): those of the
final results whose time lies after that utterance's start.

Positions: every pushed sample has a global index. Deepgram's times restart at 0 on a new
connection, so each connection has an *origin*, the global index of its first sample. Audio after
the end of the last final result is not yet acknowledged; it is kept (at most ``RING_MS``) and
replayed on a new connection after a drop, which becomes that connection's origin.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from voxline.errors import ConfigError, ProtocolViolation, ProviderConnectError, ProviderTimeout
from voxline.protocols import deepgram as dg
from voxline.providers.base import Transcript
from voxline.providers.streaming_ws import StreamingSocket

log = logging.getLogger(__name__)

RING_MS = 10_000  # unacknowledged audio kept for replay after a reconnect
PREROLL_MS = 200  # an utterance's window starts this much before the (back-dated) VAD start
FINALIZE_TIMEOUT_S = 2.0
KEEPALIVE_INTERVAL_S = 4.0  # Deepgram closes after 10 s with neither audio nor KeepAlive
CLOSE_TIMEOUT_S = 2.0
# transcribe() is answered once final results cover the audio pushed before Finalize, less this
# slack (a part-frame the server has not processed yet, a resampler's delay).
FINALIZE_SLACK_MS = 100
# Audio per binary message. With provider endpointing Deepgram decides the endpoint from the
# audio it has, so there every frame goes out as it comes (held audio would delay the endpoint).
SEND_CHUNK_MS = 80
_BYTES_PER_SAMPLE = {"linear16": 2, "mulaw": 1, "alaw": 1}


@dataclass(frozen=True)
class _Segment:
    """A final result, in global sample positions."""

    start: int
    end: int
    text: str
    confidence: float
    words: tuple[tuple[int, int, str], ...]  # (start, end, punctuated word)


class DeepgramSTT:
    def __init__(
        self,
        model: str = "nova-3",
        *,
        api_key: str,
        base_url: str = "wss://api.deepgram.com/v1/listen",
        endpointing_ms: int | None = 300,
        utterance_end_ms: int | None = 1000,
        provider_endpointing: bool = False,
    ) -> None:
        if not api_key:
            raise ConfigError("deepgram: no API key; set VOXLINE_DEEPGRAM_API_KEY")
        self.name = f"deepgram/{model}"
        self.model = model
        self._api_key = api_key
        self.base_url = base_url
        self.endpointing_ms = endpointing_ms
        self.utterance_end_ms = utterance_end_ms
        self.provider_endpointing = provider_endpointing

    async def open_stream(self, rate: int, encoding: str = "linear16") -> DeepgramStream:
        """Open the socket now; ProviderConnectError (or RateLimited, ProviderServerError)."""
        if encoding not in _BYTES_PER_SAMPLE:
            choices = ", ".join(_BYTES_PER_SAMPLE)
            raise ConfigError(f"{self.name}: encoding {encoding!r} is not one of {choices}")
        url = dg.listen_url(
            self.base_url,
            self.model,
            encoding=encoding,
            sample_rate=rate,
            endpointing_ms=self.endpointing_ms,
            utterance_end_ms=self.utterance_end_ms,
        )
        stream = DeepgramStream(
            url, name=self.name, api_key=self._api_key, rate=rate, encoding=encoding,
            provider_endpointing=self.provider_endpointing,
        )
        await stream.start()
        return stream


class DeepgramStream:
    """One call's audio to Deepgram: an STTStream, and an EndpointingSTTStream when asked."""

    def __init__(
        self, url: str, *, name: str, api_key: str, rate: int, encoding: str,
        provider_endpointing: bool,
    ) -> None:
        self.name = name
        self.rate = rate
        self.provider_endpointing = provider_endpointing
        self.on_partial: Callable[[str], None] | None = None
        self.on_endpoint: Callable[[Transcript], None] | None = None
        self.finalize_timeout_s = FINALIZE_TIMEOUT_S
        self.protocol_errors = 0
        self.metadata: dg.Metadata | None = None
        self._bps = _BYTES_PER_SAMPLE[encoding]
        self._socket = StreamingSocket(
            url, name=name, headers={"Authorization": f"Token {api_key}"},
            on_message=self._on_message, on_reconnect=self._on_reconnect,
            on_give_up=self._on_give_up, keepalive=self._keepalive,
            keepalive_interval_s=KEEPALIVE_INTERVAL_S,
        )
        self._ring: deque[tuple[int, bytes]] = deque()  # (global start sample, frame)
        self._ring_samples = 0
        self._ring_max = RING_MS * rate // 1000
        # Frames pushed but not sent yet (they are in the ring already), and their samples.
        self._held: list[bytes] = []
        self._held_samples = 0
        self._chunk = 1 if provider_endpointing else SEND_CHUNK_MS * rate // 1000
        self._pushed = 0  # samples pushed so far
        self._origin = 0  # global sample at time 0 of the current connection
        self._acked = 0  # global sample where the last final result ends
        self._segments: deque[_Segment] = deque(maxlen=256)
        self._floor = 0  # the current utterance cannot start before this sample
        self._utt_start: int | None = None
        self._interim = ""
        self._awaiting_endpoint = False  # words finalized since the last provider endpoint
        self._slack = FINALIZE_SLACK_MS * rate // 1000
        self._finalizing = 0  # transcribe() calls waiting for a Finalize answer
        self._changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._failed: BaseException | None = None

    async def start(self) -> None:
        await self._socket.connect()

    @property
    def reconnections(self) -> int:
        return self._socket.reconnections

    # -- STTStream --------------------------------------------------------------------------

    def push(self, frame: bytes) -> None:
        samples = len(frame) // self._bps
        self._ring.append((self._pushed, frame))
        self._pushed += samples
        self._ring_samples += samples
        self._trim_ring()
        self._held.append(frame)
        self._held_samples += samples
        if self._held_samples >= self._chunk:
            self._send_held()

    def _send_held(self) -> None:
        if self._held:
            held = self._held
            self._socket.send(held[0] if len(held) == 1 else b"".join(held))
            self._held = []
            self._held_samples = 0

    def _keepalive(self) -> bytes | str:
        """Audio held while the transport went quiet goes out before any KeepAlive."""
        if self._held:
            held = b"".join(self._held)
            self._held, self._held_samples = [], 0
            return held
        return dg.keepalive()

    def begin_utterance(self, started_ms_ago: float) -> None:
        back = int((started_ms_ago + PREROLL_MS) * self.rate / 1000)
        self._utt_start = max(self._floor, self._pushed - back)

    def end_utterance(self) -> None:
        self._send_held()  # the next utterance's partials must not wait on this one's tail
        self._floor = self._pushed
        self._utt_start = None
        self._interim = ""

    async def transcribe(self) -> Transcript:
        """Flush Deepgram with Finalize and return the current utterance's final transcript."""
        self._check_alive()
        # The words are those of the utterance as it is now: the endpoint may end it (and move
        # the window past it) before a slow answer to this Finalize comes.
        begin = self._window_start()
        # Answered by position, not by counting answers: a Finalize with little audio behind it
        # may get no from_finalize result, and a late answer to an abandoned one must not count.
        target = self._pushed - self._slack
        self._send_held()  # Finalize flushes what Deepgram has: all of it must be there
        if self._acked < target:
            self._finalizing += 1
            self._socket.send(dg.finalize())
            try:
                async with asyncio.timeout(self.finalize_timeout_s):
                    while self._acked < target:
                        self._check_alive()
                        await asyncio.shield(self._changed)
            except TimeoutError:
                raise ProviderTimeout(
                    f"{self.name}: no final transcript within {self.finalize_timeout_s} s of "
                    "Finalize; Deepgram is slow or the connection is stalled"
                ) from None
            finally:
                self._finalizing -= 1
        return self._transcript(begin)

    def _check_alive(self) -> None:
        if self._failed is not None:
            raise ProviderConnectError(f"{self.name}: the stream is down ({self._failed})")

    async def aclose(self) -> None:
        self._send_held()
        await self._socket.close(final=dg.close_stream(), drain_timeout_s=CLOSE_TIMEOUT_S)

    # -- positions and the utterance window -------------------------------------------------

    def _pos(self, seconds: float) -> int:
        return self._origin + round(seconds * self.rate)

    def _trim_ring(self) -> None:
        ring = self._ring
        while ring:
            start, frame = ring[0]
            end = start + len(frame) // self._bps
            if end > self._acked and self._ring_samples <= self._ring_max:
                break
            ring.popleft()
            self._ring_samples -= end - start

    def _window_start(self) -> int:
        return self._floor if self._utt_start is None else max(self._floor, self._utt_start)

    def _transcript(self, begin: int | None = None) -> Transcript:
        """The final words from `begin` (default: the current utterance's start) on, and the
        mean confidence of their results."""
        begin = self._window_start() if begin is None else begin
        texts: list[str] = []
        confidences: list[float] = []
        for seg in self._segments:
            if seg.words:
                kept = [w for w in seg.words if (w[0] + w[1]) // 2 >= begin]
                if not kept:
                    continue
                whole = len(kept) == len(seg.words)
                texts.append(seg.text if whole else " ".join(w[2] for w in kept))
            elif (seg.start + seg.end) // 2 >= begin:
                texts.append(seg.text)
            else:
                continue
            confidences.append(seg.confidence)
        confidence = sum(confidences) / len(confidences) if confidences else None
        return Transcript(" ".join(texts), confidence)

    # -- events from the socket -------------------------------------------------------------

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.get_running_loop().create_future()
        changed.set_result(None)

    def _on_message(self, message: str | bytes) -> None:
        try:
            event = dg.parse(message)
        except ProtocolViolation as err:
            self.protocol_errors += 1
            log.warning("%s: ignored a malformed message: %s", self.name, err)
            return
        if isinstance(event, dg.Results):
            self._on_results(event)
        elif isinstance(event, dg.UtteranceEnd):
            if self.provider_endpointing and self._awaiting_endpoint:
                self._endpoint(self._acked)
        elif isinstance(event, dg.Metadata):
            self.metadata = event
        self._notify()

    def _on_results(self, r: dg.Results) -> None:
        if not r.is_final:
            self._interim = r.transcript
        else:
            text = r.transcript.strip()
            if text:
                words = tuple(
                    (self._pos(w.start), self._pos(w.end), w.punctuated_word or w.word)
                    for w in r.words
                )
                start, end = self._pos(r.start), self._pos(r.start + r.duration)
                self._segments.append(_Segment(start, end, text, r.confidence, words))
                self._awaiting_endpoint = True
            self._acked = max(self._acked, self._pos(r.start + r.duration))
            self._trim_ring()
            self._interim = ""
        if self.on_partial is not None and r.transcript.strip():
            partial = " ".join(t for t in (self._transcript().text, self._interim) if t)
            self.on_partial(partial)
        if r.speech_final and self.provider_endpointing and self._awaiting_endpoint:
            self._endpoint(self._pos(r.start + r.duration))

    def _endpoint(self, end: int) -> None:
        transcript = self._transcript()
        self._awaiting_endpoint = False
        self._floor = max(self._floor, end)  # the next utterance starts after this one
        self._utt_start = None
        if transcript.text and self.on_endpoint is not None:
            self.on_endpoint(transcript)

    async def _on_reconnect(self) -> None:
        """Replay what Deepgram has not finalized; the new connection's clock starts there."""
        self._socket.discard_queued()  # the ring holds those frames already
        self._held, self._held_samples = [], 0  # and these: they go out with the replay
        replay = [(start, frame) for start, frame in self._ring
                  if start + len(frame) // self._bps > self._acked]
        self._origin = replay[0][0] if replay else self._pushed
        for _, frame in replay:  # in the same chunks as live audio
            self._held.append(frame)
            self._held_samples += len(frame) // self._bps
            if self._held_samples >= self._chunk:
                self._send_held()
        self._send_held()
        self._interim = ""
        if self._finalizing:  # a Finalize may have been lost with the connection: ask again
            self._socket.send(dg.finalize())
        replayed_ms = (self._pushed - self._origin) * 1000 // self.rate
        log.info("%s: reconnected; replayed %d ms of unacknowledged audio", self.name, replayed_ms)

    def _on_give_up(self, err: BaseException) -> None:
        self._failed = err
        self._notify()
