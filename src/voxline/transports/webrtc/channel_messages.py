"""The data channel's JSON messages, built and parsed without I/O.

Server -> page, one JSON object per message on the "voxline" channel:
    {"type": "state", "state": "listening" | "caller_speaking" | "thinking" | "speaking"}
    {"type": "transcript", "text": "...", "final": bool}   final: the endpoint confirmed the turn
    {"type": "agent", "text": "..."}                       a clause the agent is about to say
    {"type": "barge_in"}                                   the caller talked over the agent
    {"type": "turn", "record": {...}}                      TurnRecord.to_dict(): latencies etc.
    {"type": "error", "stage": "stt" | "turn", "message": "..."}

Page -> server:
    {"type": "voice_to_voice", "ms": 512.3}   the page's own measure of the latest answer
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from voxline.session.call import CallEvent
from voxline.transports.webrtc.messages import MAX_MESSAGE_BYTES, SignallingError

# Past a minute a "voice-to-voice" figure is a measuring fault, not a latency.
MAX_VOICE_TO_VOICE_MS = 60_000.0


def state(name: str) -> str:
    return json.dumps({"type": "state", "state": name})


def for_call_event(event: CallEvent) -> list[str]:
    """The page's view of one turn-engine event (nothing for events the page does not show)."""
    data = event.data
    if event.kind == "speech_started":
        return [state("caller_speaking")]
    if event.kind == "endpoint":
        return [state("thinking")]
    if event.kind == "transcript":
        if data.get("speculative", False):
            return [json.dumps({"type": "transcript", "text": data["text"], "final": False})]
        return [final_transcript(data["text"])]
    if event.kind == "agent_clause":
        return [json.dumps({"type": "agent", "text": data["text"]})]
    if event.kind == "barge_in":
        return [json.dumps({"type": "barge_in"}), state("caller_speaking")]
    if event.kind == "turn":
        return [turn(data["record"])]
    if event.kind == "error":
        return [json.dumps({"type": "error", "stage": data.get("stage"), "message": data["error"]})]
    return []


def final_transcript(text: str) -> str:
    return json.dumps({"type": "transcript", "text": text, "final": True})


def turn(record: dict[str, Any]) -> str:
    return json.dumps({"type": "turn", "record": record}, ensure_ascii=False)


@dataclass(frozen=True)
class VoiceToVoice:
    ms: float


def parse_page_message(raw: str | bytes) -> VoiceToVoice:
    """A message from the page on the data channel; SignallingError if it is not one we take."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise SignallingError("message_too_large", f"{len(raw)} bytes on the data channel")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise SignallingError("bad_json", f"not JSON: {err}") from None
    if not isinstance(data, dict) or data.get("type") != "voice_to_voice":
        raise SignallingError("unknown_type", "the data channel takes only voice_to_voice")
    ms = data.get("ms")
    if isinstance(ms, bool) or not isinstance(ms, int | float):
        raise SignallingError("bad_message", "voice_to_voice: 'ms' must be a number")
    if not 0 <= ms <= MAX_VOICE_TO_VOICE_MS:
        raise SignallingError(
            "bad_message", f"voice_to_voice: {ms} ms is outside 0..{MAX_VOICE_TO_VOICE_MS:.0f}"
        )
    return VoiceToVoice(round(float(ms), 1))
