"""The record of one turn: what was said, what was answered, and where the time went."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TurnRecord:
    call_id: str
    transport: str
    index: int
    transcript: str = ""
    stt_confidence: float | None = None
    reply: str = ""  # the whole reply the LLM wrote
    heard: str = ""  # what the caller heard of it (the reply, unless interrupted)
    interrupted: bool = False
    outcome: str = "answered"  # answered | interrupted | hung_up | no_speech | error
    tool_calls: list[dict[str, str]] = field(default_factory=list)  # name, arguments, result
    error: str | None = None
    latency: dict[str, float | None] = field(default_factory=dict)
    stamps_ms: dict[str, float] = field(default_factory=dict)  # since the call started
    # (stage, start_ms, end_ms) relative to the caller's last voiced audio
    waterfall: list[tuple[str, float, float]] = field(default_factory=list)
    # Positions in the caller's inbound audio, ms of frames the engine was fed since the call
    # started: "speech_end" (end of the last voiced frame) and "endpoint" (where it was decided).
    audio_ms: dict[str, int] = field(default_factory=dict)
    # Measured by a client from audio (file caller, harness, browser), never by the server.
    voice_to_voice_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)
