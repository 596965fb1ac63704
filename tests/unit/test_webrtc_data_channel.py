"""The page's data channel: call events out as JSON, the page's voice-to-voice onto the right turn."""

from __future__ import annotations

import json

from voxline.session.call import CallEvent
from voxline.session.record import TurnRecord
from voxline.transports.webrtc.data_channel import MAX_OUTBOX, CallChannel


class FakeCall:
    """What CallChannel reads of a Call: its observers, records, busy flag and id."""

    def __init__(self) -> None:
        self.call_id = "c1"
        self.records: list[TurnRecord] = []
        self.busy = False
        self.observers = []

    def observe(self, observer) -> None:
        self.observers.append(observer)

    def emit(self, kind: str, **data) -> None:
        for observer in self.observers:
            observer(CallEvent(kind, data))

    def finish_turn(self, *, spoke: bool = True) -> TurnRecord:
        record = TurnRecord("c1", "webrtc", index=len(self.records), transcript="hi")
        record.latency = {"turn_latency_ms": 120.0 if spoke else None}
        self.records.append(record)
        self.emit("turn", record=record.to_dict())
        return record


class FakeChannel:
    def __init__(self, label: str = "voxline", state: str = "open") -> None:
        self.label = label
        self.readyState = state
        self.sent: list[dict] = []
        self.handlers = {}

    def on(self, event, handler) -> None:
        self.handlers[event] = handler

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def open(self) -> None:
        self.readyState = "open"
        self.handlers["open"]()


def wired() -> tuple[FakeCall, CallChannel, FakeChannel]:
    call = FakeCall()
    bridge = CallChannel(call)  # type: ignore[arg-type]
    channel = FakeChannel()
    bridge.attach(channel)
    return call, bridge, channel


def test_call_events_become_page_messages():
    call, bridge, channel = wired()
    call.emit("speech_started")
    call.emit("transcript", text="what are your hours", speculative=True)
    call.emit("endpoint")
    bridge.agent_speaking(True)
    call.emit("agent_clause", text="We open at eight.")
    call.emit("barge_in", dropped_frames=12)
    call.emit("error", stage="stt", error="ProviderTimeout: slow")
    assert channel.sent == [
        {"type": "state", "state": "caller_speaking"},
        {"type": "transcript", "text": "what are your hours", "final": False},
        {"type": "transcript", "text": "what are your hours", "final": True},  # confirmed
        {"type": "state", "state": "thinking"},
        {"type": "state", "state": "speaking"},
        {"type": "agent", "text": "We open at eight."},
        {"type": "barge_in"},
        {"type": "state", "state": "caller_speaking"},
        {"type": "error", "stage": "stt", "message": "ProviderTimeout: slow"},
    ]


def test_a_transcript_known_after_the_endpoint_is_final_at_once():
    call, _, channel = wired()
    call.emit("endpoint")
    call.emit("transcript", text="hello", speculative=False)
    assert channel.sent[-1] == {"type": "transcript", "text": "hello", "final": True}
    assert len([m for m in channel.sent if m["type"] == "transcript"]) == 1


def test_messages_wait_for_the_channel_to_open_and_the_wait_is_bounded():
    call = FakeCall()
    bridge = CallChannel(call)  # type: ignore[arg-type]
    channel = FakeChannel(state="connecting")
    for i in range(MAX_OUTBOX + 5):
        call.emit("agent_clause", text=str(i))
    bridge.attach(channel)
    assert channel.sent == []
    channel.open()
    assert len(channel.sent) == MAX_OUTBOX
    assert channel.sent[0]["text"] == "5" and channel.sent[-1]["text"] == str(MAX_OUTBOX + 4)


def test_other_data_channels_are_ignored():
    call = FakeCall()
    bridge = CallChannel(call)  # type: ignore[arg-type]
    other = FakeChannel(label="chat")
    bridge.attach(other)
    call.emit("endpoint")
    assert other.sent == [] and "message" not in other.handlers


def test_voice_to_voice_measured_while_the_answer_plays_lands_on_that_turn():
    call, _bridge, channel = wired()
    call.busy = True
    channel.handlers["message"]('{"type": "voice_to_voice", "ms": 850.25}')
    call.busy = False
    record = call.finish_turn()
    assert record.voice_to_voice_ms == 850.2
    assert channel.sent[-1]["record"]["voice_to_voice_ms"] == 850.2


def test_voice_to_voice_after_the_record_updates_the_last_answered_turn_and_resends_it():
    call, bridge, channel = wired()
    answered = call.finish_turn()
    call.finish_turn(spoke=False)  # a turn that said nothing cannot own the figure
    bridge.on_page_message('{"type": "voice_to_voice", "ms": 700}')
    assert answered.voice_to_voice_ms == 700.0
    assert channel.sent[-1] == {"type": "turn", "record": answered.to_dict()}
    bridge.on_page_message('{"type": "voice_to_voice", "ms": 9}')  # already has one: refused
    assert answered.voice_to_voice_ms == 700.0 and bridge.refused == 1


def test_bad_page_messages_are_counted_and_change_nothing():
    call, bridge, _channel = wired()
    record = call.finish_turn()
    for raw in ("{", '{"type":"voice_to_voice","ms":-4}', '{"type":"hello"}', b"\xff"):
        bridge.on_page_message(raw)
    assert bridge.refused == 4 and record.voice_to_voice_ms is None
