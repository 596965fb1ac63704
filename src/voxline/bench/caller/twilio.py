"""The caller over Twilio's Media Streams protocol: the harness plays Twilio's side.

Target forms:
* ``http://host:port`` — what Twilio does for a call: POST the signed voice webhook
  (/twilio/voice), then open the stream the returned TwiML names, with its <Parameter>s;
* ``ws://host:port/twilio/stream`` — straight to the stream WebSocket.

Both are signed with the server's Twilio auth token (voxline refuses unsigned streams). Media is
mu-law 8 kHz in 20 ms messages on the line's absolute schedule; the app's media is played from
the line's playout buffer, its marks echoed when playout reaches them, a clear empties the
buffer and echoes every pending mark, as Twilio does. setup_ms: webhook (if any) + WebSocket
handshake + connected/start sent.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.bench.caller.errors import TargetError, UnreachableError
from voxline.bench.caller.line import CallerLine
from voxline.protocols import twilio_media as tm
from voxline.tasks import cancel_and_wait
from voxline.transports.twilio.signature import SIGNATURE_HEADER, TwilioSignature

RATE = tm.RATE
FRAME_S = 0.02
MAX_LATE_FRAMES = 10  # a stalled loop: restart the schedule rather than burst frames
VOICE_PATH = "/twilio/voice"
WEBHOOK_FORM = {"AccountSid": "AC" + "0" * 32, "From": "+15550100", "To": "+15550199",
                "Direction": "inbound"}


class TwilioCall:
    def __init__(self, line: CallerLine, target: str, auth_token: str | None) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            raise TargetError(f"{target!r}: the twilio transport dials http://host:port (the "
                              "voice webhook) or ws://host:port/twilio/stream")
        if not auth_token:
            raise TargetError("the twilio transport needs the server's Twilio auth token "
                              "(voxline refuses unsigned streams): set VOXLINE_TWILIO__AUTH_TOKEN "
                              "or pass --twilio-auth-token")
        self.line = line
        self.target = target
        self.signature = TwilioSignature(auth_token)
        self.call_sid = "CA" + uuid.uuid4().hex
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self._ws: ClientConnection | None = None
        self._seq = 0
        self._marks: list[tuple[int, str]] = []  # (playout byte position, name), in order
        self._tasks: list[asyncio.Task[None]] = []
        self.setup_ms: float | None = None

    async def dial(self) -> None:
        began = time.monotonic()
        url, parameters = self.target, {}
        if urlsplit(self.target).scheme in ("http", "https"):
            url, parameters = await self._webhook()
        headers = {SIGNATURE_HEADER: self.signature.sign(url)}
        try:
            self._ws = await connect(url, additional_headers=headers, proxy=None,
                                     compression=None, open_timeout=10)
        except InvalidURI as err:
            raise TargetError(f"{url!r} is not a WebSocket URL: {err}") from err
        except InvalidHandshake as err:
            raise UnreachableError(f"the stream {url} refused the call ({err}); check the auth "
                                   "token and that the server's models are ready") from err
        except (OSError, TimeoutError) as err:
            raise UnreachableError(f"cannot reach {url}: {err}; is `voxline serve` running "
                                   "there?") from err
        await self._ws.send(tm.twilio_connected())
        await self._ws.send(tm.twilio_start(self._next_seq(), self.stream_sid, self.call_sid,
                                            WEBHOOK_FORM["AccountSid"], parameters))
        self.setup_ms = round((time.monotonic() - began) * 1000, 1)
        self._tasks = [asyncio.create_task(self._ticker()), asyncio.create_task(self._reader())]

    async def hang_up(self) -> None:
        """Twilio's hang-up: a stop message, then the socket closes."""
        if self._ws is not None and not self.line.ended.is_set():
            try:
                await self._ws.send(tm.twilio_stop(self._next_seq(), self.stream_sid,
                                                   self.call_sid, WEBHOOK_FORM["AccountSid"]))
            except ConnectionClosed:
                pass
        await self.close()

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
        if self._ws is not None:
            await self._ws.close()

    async def _webhook(self) -> tuple[str, dict[str, str]]:
        url = self.target.rstrip("/") + VOICE_PATH
        form = {**WEBHOOK_FORM, "CallSid": self.call_sid}
        headers = {SIGNATURE_HEADER: self.signature.sign(url, form)}
        try:
            async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
                response = await http.post(url, data=form, headers=headers)
        except httpx.HTTPError as err:
            raise UnreachableError(f"cannot reach {url}: {err or type(err).__name__}; is "
                                   "`voxline serve` running there?") from err
        if response.status_code != 200:
            raise UnreachableError(f"the voice webhook {url} answered {response.status_code}: "
                                   f"{response.text[:200]}")
        try:
            stream = ET.fromstring(response.text).find("./Connect/Stream")
        except ET.ParseError as err:
            raise UnreachableError(f"{url} did not answer with TwiML: {err}") from err
        if stream is None or not stream.get("url"):
            raise UnreachableError(f"{url} answered TwiML without <Connect><Stream url=...>: "
                                   f"{response.text[:200]}")
        parameters = {p.get("name", ""): p.get("value", "") for p in stream.iter("Parameter")}
        return stream.get("url", ""), parameters

    async def _ticker(self) -> None:
        assert self._ws is not None
        base, tick = time.monotonic(), 0
        try:
            while True:
                delay = base + tick * FRAME_S - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif -delay > MAX_LATE_FRAMES * FRAME_S:
                    base, tick = time.monotonic(), 0
                now = time.monotonic()
                frame = ulaw_encode(self.line.next_frame(now))
                await self._ws.send(tm.twilio_media(self._next_seq(), self.stream_sid,
                                                    self.line.frames_sent, tick * 20, frame))
                await self._echo_marks()
                tick += 1
        except ConnectionClosed:
            self.line.hang_up_seen("server")

    async def _reader(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                now = time.monotonic()
                try:
                    event = tm.parse_from_app(message)
                except tm.TwilioMessageError:
                    continue  # Twilio ignores what it cannot read
                if isinstance(event, tm.PlayMedia):
                    self.line.on_agent_audio(ulaw_decode(event.payload), now)
                elif isinstance(event, tm.PlayMark):
                    self._marks.append((self.line.playout.pushed_bytes, event.name))
                elif isinstance(event, tm.Clear):
                    self.line.on_clear(now)
                    await self._echo_marks()
        except ConnectionClosed:
            pass
        self.line.hang_up_seen("server")

    async def _echo_marks(self) -> None:
        played = self.line.playout.played_bytes
        while self._marks and self._marks[0][0] <= played:
            _, name = self._marks.pop(0)
            await self._ws.send(tm.twilio_mark(self._next_seq(), self.stream_sid, name))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq
