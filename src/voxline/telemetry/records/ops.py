"""Record operations: plain JSON-able dicts, so the same op goes to the database or, while the
database is down, to the spool file and later back.

Every op is idempotent (an upsert keyed by call, turn or event id): replaying a spool that was
partly written before an outage writes nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from voxline.telemetry.records.redaction import Redactor, mask_caller
from voxline.telemetry.records.schema import TURN_LATENCY_COLUMNS

Op = dict[str, Any]


def call_row(
    call_id: str,
    transport: str,
    started_at: datetime,
    *,
    caller: str | None = None,
    providers: Mapping[str, str] | None = None,
    **fields: Any,
) -> Op:
    """The calls row as known now: at the start, and again (complete) at the end."""
    providers = providers or {}
    row = {
        "call_id": call_id,
        "transport": transport,
        "caller": mask_caller(caller),
        "stt_provider": providers.get("stt"),
        "llm_provider": providers.get("llm"),
        "tts_provider": providers.get("tts"),
        "started_at": started_at.isoformat(),
        **fields,
    }
    if "ended_at" in row and isinstance(row["ended_at"], datetime):
        row["ended_at"] = row["ended_at"].isoformat()
    # An unknown caller or provider leaves what an earlier op wrote (the op is an upsert).
    row = {k: v for k, v in row.items() if v is not None or k in fields}
    return {"op": "call", "row": row}


def turn_row(call_id: str, record: Mapping[str, Any], redact: Redactor) -> Op:
    """A turn record (TurnRecord.to_dict()) as a turns row, its words redacted."""
    latency = record.get("latency") or {}
    stamps = record.get("stamps_ms") or {}
    row = {
        "call_id": call_id,
        "turn_index": record["index"],
        "outcome": record["outcome"],
        "barge_in": bool(record.get("interrupted")) and record["outcome"] == "interrupted",
        "transcript": redact(record.get("transcript") or ""),
        "reply": redact(record.get("reply") or ""),
        "heard": redact(record.get("heard") or ""),
        "stt_confidence": record.get("stt_confidence"),
        "error": record.get("error"),
        **{name: latency.get(name) for name in TURN_LATENCY_COLUMNS},
        "voice_to_voice_ms": record.get("voice_to_voice_ms"),
        "started_ms": stamps.get("speech_start", stamps.get("speech_end")),
        "ended_ms": max(stamps.values()) if stamps else None,
        "stamps_ms": dict(stamps),
        "waterfall": [list(row) for row in record.get("waterfall") or []],
        "tools": [tool["name"] for tool in record.get("tool_calls") or []],
        "audio_ms": dict(record.get("audio_ms") or {}),
    }
    return {"op": "turn", "row": row}


def event_row(
    call_id: str, kind: str, at: datetime, at_ms: float | None, data: Mapping[str, Any]
) -> Op:
    row = {
        "event_id": uuid.uuid4().hex,
        "call_id": call_id,
        "at": at.isoformat(),
        "at_ms": at_ms,
        "kind": kind,
        "data": dict(data),
    }
    return {"op": "event", "row": row}


def add_flags(call_id: str, flags: Iterable[str], **fields: Any) -> Op:
    """Flags (and fields such as end_reason) learnt after the call's row was written."""
    return {"op": "add_flags", "call_id": call_id, "flags": sorted(set(flags)), "fields": fields}
