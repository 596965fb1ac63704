"""A caller that plays Twilio's side of a Media Stream, for tests and benchmarks.

Written from Twilio's documented message formats (voxline.protocols.twilio_media), it does what
Twilio does towards the app's stream WebSocket:

* opens the socket with an X-Twilio-Signature on the handshake, sends ``connected`` and
  ``start`` (mu-law, 8000 Hz, mono, with custom parameters);
* sends one ``media`` message of 20 ms every 20 ms on an absolute schedule, for as long as the
  call lasts: the caller's speech from a WAV while it is talking, mu-law silence otherwise;
* plays the app's audio the way Twilio's buffer does: ``media`` is queued and played out 20 ms
  a tick; a ``mark`` is queued behind the audio sent before it and echoed back when playout
  reaches it; ``clear`` empties the queue and echoes every mark still in it;
* sends ``dtmf`` and, at the end, ``stop`` (or just closes, like a dropped connection).

What it observes: what was played (the agent's track on the caller's timeline), the marks sent,
echoed and flushed, the clears, and ``voice_to_voice_ms``: from the last voiced sample the
caller sent to the first voiced agent audio it received, both found by energy (-40 dBFS over
10 ms windows at 8 kHz; voxline.transports.file's detector).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.audio.wav import Audio, read_wav
from voxline.protocols import twilio_media as tm
from voxline.tasks import cancel_and_wait
from voxline.transports.file import first_voiced_sample, last_voiced_sample
from voxline.transports.twilio.signature import SIGNATURE_HEADER, TwilioSignature

FRAME_S = 0.02
SILENCE = ulaw_encode(bytes(2 * tm.FRAME_BYTES))  # 20 ms of mu-law silence


@dataclass
class Reply:
    """One question and the start of its answer, as the caller heard it."""

    last_voiced_sent_at: float | None  # time.monotonic() of the caller's last voiced sample
    first_agent_audio_at: float | None  # first voiced agent audio received after it

    @property
    def voice_to_voice_ms(self) -> float | None:
        if self.last_voiced_sent_at is None or self.first_agent_audio_at is None:
            return None
        return round((self.first_agent_audio_at - self.last_voiced_sent_at) * 1000, 1)


class TwilioCaller:
    def __init__(
        self,
        url: str,
        *,
        auth_token: str | None = None,
        custom_parameters: dict[str, str] | None = None,
        stream_sid: str | None = None,
        call_sid: str | None = None,
        account_sid: str = "AC" + "0" * 32,
    ) -> None:
        self.url = url
        self.auth_token = auth_token
        self.custom_parameters = dict(custom_parameters or {})
        self.stream_sid = stream_sid or "MZ" + uuid.uuid4().hex
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.account_sid = account_sid
        self._ws: ClientConnection | None = None
        self._send_lock = asyncio.Lock()
        self._seq = 0
        self._tasks: list[asyncio.Task[None]] = []
        # Caller -> app
        self._speech: deque[bytes] = deque()  # mu-law frames still to send
        self._speech_sent = asyncio.Event()
        self._voiced_frame: tuple[int, float] | None = None  # (frames left, offset s) to stamp
        self._last_voiced_sent_at: float | None = None
        self._chunk = 0
        # App -> caller: Twilio's playout queue of audio bytes and mark names
        self._queue: deque[bytes | str] = deque()
        self._heard = asyncio.Event()  # set whenever voiced agent audio arrives
        self._flush_due = False  # a clear arrived: the reader empties the queue
        # Observations
        self.played: list[bytes] = []  # PCM16 8 kHz, one 20 ms frame per tick, silence included
        self.play_started_at = 0.0  # time.monotonic() of tick 0
        self.agent_voiced_at: list[float] = []  # arrival of each voiced agent frame
        self.media_received = 0  # media messages from the app
        self.media_frames_received = 0  # 20 ms frames in them (a message may carry a batch)
        self.marks_received: list[str] = []
        self.marks_echoed: list[str] = []  # played, then echoed
        self.marks_flushed: list[str] = []  # echoed because a clear dropped them
        self.clears: list[float] = []  # time.monotonic() of each clear received
        self.unknown_from_app: list[str] = []
        self.closed_by_app = asyncio.Event()

    # -- connection --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        headers = {}
        if self.auth_token is not None:
            headers[SIGNATURE_HEADER] = TwilioSignature(self.auth_token).sign(self.url)
        self._ws = await connect(
            self.url, additional_headers=headers, proxy=None, compression=None
        )
        await self._send(tm.twilio_connected())
        await self._send(
            tm.twilio_start(
                self._next_seq(),
                self.stream_sid,
                self.call_sid,
                self.account_sid,
                self.custom_parameters,
            )
        )
        self.play_started_at = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._line()),
            asyncio.create_task(self._reader()),
        ]

    async def stop(self) -> None:
        """Hang up as Twilio does: a stop message, then the socket closes."""
        await self._send(
            tm.twilio_stop(self._next_seq(), self.stream_sid, self.call_sid, self.account_sid)
        )
        await self.close()

    async def close(self) -> None:
        """Close the socket (without stop, when stop() was not called: a dropped connection)."""
        await cancel_and_wait(self._tasks)
        self._tasks = []
        if self._ws is not None:
            await self._ws.close()

    async def send_raw(self, data: str | bytes) -> None:
        """Any frame at all, text or binary (for bad-input tests)."""
        await self._send(data)

    async def dtmf(self, digit: str) -> None:
        await self._send(tm.twilio_dtmf(self._next_seq(), self.stream_sid, digit))

    # -- speaking and listening ----------------------------------------------------------------

    async def say(self, audio: Audio | str | Path) -> float | None:
        """Speak `audio` (any WAV; played at 8 kHz) in real time; returns when its last frame has
        been sent, with the time of its last voiced sample (None if it was silent)."""
        if not isinstance(audio, Audio):
            audio = read_wav(audio, tm.RATE)
        elif audio.rate != tm.RATE:
            raise ValueError(f"caller audio must be {tm.RATE} Hz here, got {audio.rate}")
        pcm = audio.pcm
        step = 2 * tm.FRAME_BYTES
        frames = [pcm[i : i + step].ljust(step, b"\0") for i in range(0, len(pcm), step)]
        end = last_voiced_sample(pcm)
        self._last_voiced_sent_at = None
        if end is not None:
            index = (end - 1) // tm.FRAME_BYTES
            self._voiced_frame = (index, (end - index * tm.FRAME_BYTES) / tm.RATE)
        self._speech_sent.clear()
        self._speech.extend(ulaw_encode(f) for f in frames)
        await self._speech_sent.wait()
        return self._last_voiced_sent_at

    async def wait_for_agent(self, after: float, timeout: float) -> float | None:
        """Time of the first voiced agent audio received after `after`; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            later = [t for t in self.agent_voiced_at if t > after]
            if later:
                return later[0]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._heard.clear()
            try:
                await asyncio.wait_for(self._heard.wait(), left)
            except TimeoutError:
                return None

    async def ask(self, audio: Audio | str | Path, timeout: float = 30.0) -> Reply:
        """Say `audio`, then wait for the agent to start answering."""
        last_voiced = await self.say(audio)
        if last_voiced is None:
            return Reply(None, None)
        return Reply(last_voiced, await self.wait_for_agent(last_voiced, timeout))

    async def wait_until_quiet(self, quiet_s: float = 1.5, timeout: float = 60.0) -> bool:
        """Wait until the agent has been silent for `quiet_s` and nothing is left to play."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.agent_voiced_at[-1] if self.agent_voiced_at else 0.0
            if not self._queue and time.monotonic() - last >= quiet_s:
                return True
            await asyncio.sleep(0.05)
        return False

    def voiced_between(self, start: float, end: float) -> int:
        """How many voiced agent frames arrived in [start, end) (time.monotonic())."""
        return sum(start <= t < end for t in self.agent_voiced_at)

    # -- the 20 ms line --------------------------------------------------------------------------

    async def _line(self) -> None:
        """Every 20 ms: one caller frame out, one agent frame played, reached marks echoed."""
        tick = 0
        while True:
            delay = self.play_started_at + tick * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            await self._send_caller_frame(now, tick)
            self.played.append(self._play_one_frame())
            for name in self._reached_marks():
                self.marks_echoed.append(name)
                await self._send(tm.twilio_mark(self._next_seq(), self.stream_sid, name))
            tick += 1

    async def _send_caller_frame(self, now: float, tick: int) -> None:
        frame = self._speech.popleft() if self._speech else SILENCE
        self._chunk += 1
        await self._send(
            tm.twilio_media(self._next_seq(), self.stream_sid, self._chunk, tick * 20, frame)
        )
        if frame is not SILENCE and self._voiced_frame is not None:
            frames_left, offset = self._voiced_frame
            if frames_left == 0:
                self._last_voiced_sent_at = now + offset
                self._voiced_frame = None
            else:
                self._voiced_frame = (frames_left - 1, offset)
        if not self._speech:
            self._speech_sent.set()

    def _play_one_frame(self) -> bytes:
        """Take 20 ms of audio off the head of the playout queue (marks stay in place)."""
        out = bytearray()
        while len(out) < tm.FRAME_BYTES and self._queue and isinstance(self._queue[0], bytes):
            chunk = self._queue.popleft()
            take = tm.FRAME_BYTES - len(out)
            out += chunk[:take]
            if len(chunk) > take:
                self._queue.appendleft(chunk[take:])
        return ulaw_decode(bytes(out).ljust(tm.FRAME_BYTES, SILENCE[:1]))

    def _reached_marks(self) -> list[str]:
        names = []
        while self._queue and isinstance(self._queue[0], str):
            names.append(self._queue.popleft())
        return names

    # -- what the app sends -----------------------------------------------------------------------

    async def _reader(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                self._on_app_message(message)
                if self._flush_due:
                    await self._echo_flushed()
        except ConnectionClosed:
            pass
        finally:
            self.closed_by_app.set()

    def _on_app_message(self, message: str | bytes) -> None:
        now = time.monotonic()
        try:
            event = tm.parse_from_app(message)
        except tm.TwilioMessageError as err:
            self.unknown_from_app.append(f"malformed: {err}")
            return
        if isinstance(event, tm.PlayMedia):
            self.media_received += 1
            self.media_frames_received += -(-len(event.payload) // tm.FRAME_BYTES)
            self._queue.append(event.payload)
            # One entry per voiced 20 ms frame (a message may carry a batch of them), each
            # stamped with the arrival time plus where its voice starts within the frame.
            for start in range(0, len(event.payload), tm.FRAME_BYTES):
                frame = event.payload[start : start + tm.FRAME_BYTES]
                offset = first_voiced_sample(ulaw_decode(frame))
                if offset is not None:
                    self.agent_voiced_at.append(now + offset / tm.RATE)
                    self._heard.set()
        elif isinstance(event, tm.PlayMark):
            self.marks_received.append(event.name)
            self._queue.append(event.name)
        elif isinstance(event, tm.Clear):
            self.clears.append(now)
            self._flush_due = True
        else:
            self.unknown_from_app.append(event.event)

    async def _echo_flushed(self) -> None:
        """A clear: drop the queued audio, echo every queued mark at once (as Twilio does)."""
        self._flush_due = False
        names = [item for item in self._queue if isinstance(item, str)]
        self._queue.clear()
        for name in names:
            self.marks_flushed.append(name)
            await self._send(tm.twilio_mark(self._next_seq(), self.stream_sid, name))

    # -- sending ------------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def _send(self, data: str | bytes) -> None:
        assert self._ws is not None, "connect() first"
        async with self._send_lock:  # the line and the reader both send
            await self._ws.send(data)
