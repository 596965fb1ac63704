"""One Twilio Media Stream: one WebSocket, one `Call`, from `start` to `stop` (or a closed socket).

    Twilio ─ connected, start ─►  the call starts (mu-law 8 kHz mono checked)
           ─ media ───────────►  mu-law -> PCM16 8 kHz 20 ms frames -> Call.receive
           ─ dtmf ────────────►  Call.dtmf
           ─ mark ────────────►  playout confirmed up to that mark (marks.py)
           ─ stop / close ────►  the call hangs up, its records are kept, "call ended" is logged
           ◄─ media, mark ─────  AgentSender: paced agent audio (sender.py)
           ◄─ clear ───────────  on barge-in

Bad input never ends a call: a binary frame, a frame that is not JSON or lacks a field, an
unknown event, a mark never sent, a digit that is not a key: each is counted, the first of each
kind logged, and the call goes on. A socket that closes without `stop` ends the call as `stop`
would. A call is a TaskGroup (engine, sender, reader); a fault in it ends this call only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from voxline.agent.tools import Toolbox
from voxline.audio.frames import FRAME_MS
from voxline.config import Settings
from voxline.protocols.twilio_media import (
    Connected,
    Dtmf,
    FromTwilio,
    Mark,
    Media,
    Start,
    Stop,
    TwilioMessageError,
    UnknownEvent,
    parse_from_twilio,
)
from voxline.providers.registry import Providers
from voxline.session.call import Call, CallEvent
from voxline.session.record import TurnRecord
from voxline.telemetry.logs import bind_call
from voxline.transports.twilio.audio import CALLER_RATE, CallerAudio
from voxline.transports.twilio.sender import AgentSender

log = logging.getLogger(__name__)

# Twilio sends connected and start as soon as the socket opens; a peer that does not is not
# Twilio, and holds a call slot for nothing.
START_TIMEOUT_S = 10.0
WS_UNSUPPORTED_DATA = 1003


class StreamClosed(Exception):
    """The WebSocket is gone: nothing more can be sent on it."""


@dataclass
class StreamSummary:
    """What one stream did: the call's records and counts. Holds personal data (the custom
    parameters, the digits, the records' transcripts): `log_line` leaves all of it out."""

    call_id: str
    stream_sid: str
    call_sid: str
    ended_by: str  # "stop" | "closed" (socket closed without stop) | "error"
    records: list[TurnRecord]
    dtmf_digits: list[str]
    custom_parameters: dict[str, str]
    ignored: dict[str, int] = field(default_factory=dict)  # bad input, by kind
    agent_audio_sent_ms: int = 0
    agent_audio_heard_ms: int = 0  # confirmed by Twilio's mark echoes
    marks_sent: int = 0
    marks_acknowledged: int = 0
    marks_flushed: int = 0  # echoes of marks a clear dropped
    clears_sent: int = 0
    barge_in_dropped_ms: int = 0  # queued agent audio a barge-in dropped before it was sent
    caller_frames: int = 0  # 20 ms frames handed to the engine

    def log_line(self) -> str:
        outcomes = Counter(r.outcome for r in self.records)
        ignored = ",".join(f"{k}={v}" for k, v in sorted(self.ignored.items())) or "none"
        return (
            f"call ended: call_id={self.call_id} transport=twilio stream={self.stream_sid} "
            f"call_sid={self.call_sid} ended_by={self.ended_by} turns={len(self.records)} "
            f"outcomes={dict(outcomes)} dtmf_keys={len(self.dtmf_digits)} "
            f"agent_sent_ms={self.agent_audio_sent_ms} "
            f"agent_heard_ms={self.agent_audio_heard_ms} marks={self.marks_sent}/"
            f"{self.marks_acknowledged}/{self.marks_flushed} clears={self.clears_sent} "
            f"barge_in_dropped_ms={self.barge_in_dropped_ms} "
            f"ignored={ignored}"
        )


class TwilioStream:
    def __init__(
        self,
        websocket: WebSocket,
        providers: Providers,
        settings: Settings,
        toolbox: Toolbox | None = None,
    ) -> None:
        self._ws = websocket
        self._providers = providers
        self._settings = settings
        self._toolbox = toolbox
        self._ignored: Counter[str] = Counter()
        self._closed = False
        self._caller = CallerAudio()
        self._caller_frames = 0
        self.call: Call | None = None
        self.sender: AgentSender | None = None
        self.stream_sid = ""
        self._barge_in_dropped_frames = 0

    # -- the socket ------------------------------------------------------------------------------

    async def _send(self, text: str) -> None:
        if self._closed:
            raise StreamClosed
        try:
            await self._ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as err:
            # Starlette raises RuntimeError for a send after the close, the server OSError
            # subclasses for a peer that went away: all mean the same here.
            self._closed = True
            raise StreamClosed from err

    async def _next(self) -> FromTwilio | None:
        """The next well-formed message; None when the socket closed. Bad frames are skipped."""
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                self._closed = True
                return None
            if message.get("text") is None:
                self._ignore("binary", "a binary frame (Twilio sends only text)")
                continue
            try:
                return parse_from_twilio(message["text"])
            except TwilioMessageError as err:
                self._ignore("malformed", str(err))

    def _ignore(self, kind: str, detail: str) -> None:
        self._ignored[kind] += 1
        level = logging.WARNING if self._ignored[kind] == 1 else logging.DEBUG
        call_id = self.call.call_id if self.call else "-"
        log.log(level, "call %s: twilio %s ignored: %s", call_id, kind, detail[:200])

    # -- the call --------------------------------------------------------------------------------

    async def run(self) -> StreamSummary | None:
        """Serve the stream until stop or close. None when no call started (no start, or a
        media format that is not mu-law 8 kHz mono)."""
        await self._ws.accept()
        start = await self._wait_for_start()
        if start is None:
            await self._close()
            return None
        if not start.media_format.is_mulaw_8k_mono:
            log.warning("twilio stream %s: media format %s is not audio/x-mulaw 8000 Hz mono",
                        start.stream_sid, start.media_format)
            await self._close(WS_UNSUPPORTED_DATA)
            return None
        self.stream_sid = start.stream_sid
        call = self.call = Call(
            self._providers, self._settings, transport="twilio", toolbox=self._toolbox,
            transport_ref=start.call_sid, caller_rate=CALLER_RATE,
        )
        sender = self.sender = AgentSender(call, self._send, start.stream_sid)
        call.observe(self._on_call_event)
        bind_call(call.call_id, "twilio")  # the stream's own lines, before and after the engine's
        log.info("call %s: twilio stream %s started (call %s)",
                 call.call_id, start.stream_sid, start.call_sid)
        ended_by = "closed"
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(call.run())
                sending = tg.create_task(self._send_loop(sender))
                try:
                    ended_by = await self._serve(call, sender, start.stream_sid)
                finally:
                    call.hang_up()  # the engine finishes its records and returns
                    sending.cancel()
        except* Exception as group:  # noqa: BLE001 - a fault ends this call, never the server
            ended_by = "error"
            log.error("call %s: twilio stream failed: %r", call.call_id, group.exceptions)
        await self._close()
        summary = self._summary(start, ended_by)
        log.info(summary.log_line())
        return summary

    async def _wait_for_start(self) -> Start | None:
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while (event := await self._next()) is not None:
                    if isinstance(event, Start):
                        return event
                    if isinstance(event, Stop):
                        return None
                    if not isinstance(event, Connected):
                        self._ignore("before_start", f"{type(event).__name__} before start")
        except TimeoutError:
            log.warning("twilio stream: no start within %.0f s; closing", START_TIMEOUT_S)
        return None

    async def _serve(self, call: Call, sender: AgentSender, stream_sid: str) -> str:
        """Read until stop (returns "stop") or a closed socket (returns "closed")."""
        while (event := await self._next()) is not None:
            if getattr(event, "stream_sid", stream_sid) not in (stream_sid, ""):
                self._ignore("stream_sid", "a message names another stream")
                continue
            if isinstance(event, Media):
                if event.track != "inbound":
                    self._ignore("track", f"media on track {event.track!r}")
                    continue
                for frame in self._caller.push(event.payload):
                    call.receive(frame)
                    self._caller_frames += 1
            elif isinstance(event, Mark):
                if sender.acknowledged(event.name) == "unknown":
                    self._ignore("unknown_mark", f"mark {event.name[:40]!r} was never sent")
            elif isinstance(event, Dtmf):
                try:
                    call.dtmf(event.digit)
                except ValueError as err:
                    self._ignore("dtmf", str(err))
            elif isinstance(event, Stop):
                return "stop"
            elif isinstance(event, UnknownEvent):
                self._ignore("unknown_event", f"event {event.event[:40]!r}")
            else:  # a second connected or start
                self._ignore("repeated", f"a second {type(event).__name__.lower()}")
        return "closed"

    async def _send_loop(self, sender: AgentSender) -> None:
        try:
            await sender.run()
        except StreamClosed:
            pass  # the reader sees the close and ends the call

    def _on_call_event(self, event: CallEvent) -> None:
        if event.kind == "barge_in" and self.sender is not None:
            self.sender.barge_in()
            self._barge_in_dropped_frames += event.data.get("dropped_frames", 0)

    async def _close(self, code: int = 1000) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._ws.close(code)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the peer is already gone

    def _summary(self, start: Start, ended_by: str) -> StreamSummary:
        assert self.call is not None and self.sender is not None
        marks = self.sender.marks
        return StreamSummary(
            call_id=self.call.call_id,
            stream_sid=start.stream_sid,
            call_sid=start.call_sid,
            ended_by=ended_by,
            records=self.call.records,
            dtmf_digits=list(self.call.dtmf_digits),
            custom_parameters=dict(start.custom_parameters),
            ignored=dict(self._ignored),
            agent_audio_sent_ms=marks.sent_ms,
            agent_audio_heard_ms=marks.heard_ms,
            marks_sent=marks.marks_sent,
            marks_acknowledged=marks.acknowledged,
            marks_flushed=marks.flushed,
            clears_sent=self.sender.clears_sent,
            barge_in_dropped_ms=self._barge_in_dropped_frames * FRAME_MS,
            caller_frames=self._caller_frames,
        )
