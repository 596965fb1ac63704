"""The page's data channel: live transcript, agent state and turn records out; the page's own
voice-to-voice figure in.

The page measures voice-to-voice when the agent's first sound reaches it, which is while the
server is still playing that answer (`Call.busy`); the turn's record is written when the answer
ends. So a figure that arrives while the call is busy belongs to the turn in progress and waits
for its record; one that arrives after belongs to the last answered turn, whose record is then
sent again with it.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from voxline.session.call import Call, CallEvent
from voxline.session.record import TurnRecord
from voxline.transports.webrtc import channel_messages as msg
from voxline.transports.webrtc.messages import SignallingError

log = logging.getLogger(__name__)

LABEL = "voxline"
# Messages kept while the channel is still opening; past this the oldest go (a page that never
# opens its channel must not grow memory for the whole call).
MAX_OUTBOX = 200


class CallChannel:
    def __init__(self, call: Call) -> None:
        self._call = call
        self._channel: Any = None  # aiortc RTCDataChannel, once the page's arrives
        self._outbox: deque[str] = deque(maxlen=MAX_OUTBOX)
        self._pending_v2v: float | None = None
        self._partial: str | None = None  # a speculative transcript not yet confirmed
        self.refused = 0  # page messages that were not valid
        call.observe(self._on_event)

    def attach(self, channel: Any) -> None:
        """The page's data channel arrived (pc "datachannel" event)."""
        if channel.label != LABEL:
            log.info("call %s: ignoring data channel %r", self._call.call_id, channel.label)
            return
        self._channel = channel
        channel.on("message", self.on_page_message)
        if channel.readyState == "open":
            self._flush()
        else:
            channel.on("open", self._flush)

    def agent_speaking(self, speaking: bool) -> None:
        """From the outbound track: agent audio started, or has been silent a while."""
        self._send(msg.state("speaking" if speaking else "listening"))

    # -- out ------------------------------------------------------------------------------

    def _on_event(self, event: CallEvent) -> None:
        if event.kind == "turn":
            record = self._call.records[event.data["record"]["index"]]
            if self._pending_v2v is not None and _spoke(record):
                record.voice_to_voice_ms, self._pending_v2v = self._pending_v2v, None
            self._send(msg.turn(record.to_dict()))
            return
        if event.kind == "transcript":
            self._partial = event.data["text"] if event.data.get("speculative") else None
        elif event.kind == "endpoint" and self._partial is not None:
            # The endpoint confirms the speculative transcript: the page shows it as final.
            self._send(msg.final_transcript(self._partial))
            self._partial = None
        for text in msg.for_call_event(event):
            self._send(text)

    def _send(self, text: str) -> None:
        channel = self._channel
        if channel is None or channel.readyState != "open":
            self._outbox.append(text)
            return
        channel.send(text)

    def _flush(self) -> None:
        while self._outbox and self._channel is not None and self._channel.readyState == "open":
            self._channel.send(self._outbox.popleft())

    # -- in -------------------------------------------------------------------------------

    def on_page_message(self, raw: str | bytes) -> None:
        try:
            v2v = msg.parse_page_message(raw)
        except SignallingError as err:
            self.refused += 1
            log.info("call %s: refused data channel message: %s", self._call.call_id, err.code)
            return
        if self._call.busy:
            self._pending_v2v = v2v.ms
            return
        last = next((r for r in reversed(self._call.records) if _spoke(r)), None)
        if last is None or last.voice_to_voice_ms is not None:
            self.refused += 1  # no answer this figure could belong to
            return
        last.voice_to_voice_ms = v2v.ms
        self._send(msg.turn(last.to_dict()))


def _spoke(record: TurnRecord) -> bool:
    """The turn put agent audio on the wire (so the page had something to time)."""
    return record.latency.get("turn_latency_ms") is not None
