"""The call records' tables: calls, turns, events (SQLAlchemy Core).

The migrations in `migrations/versions` build exactly this schema; a test compares them, so a
column added here without a migration fails the tests.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from voxline.session.latency import DETAIL_NAMES, LATENCY_NAMES

# Every latency figure a turn can carry: the DESIGN names, the details, and the client-measured
# voice-to-voice, one column each so the dashboard and SQL can aggregate them.
TURN_LATENCY_COLUMNS = (*LATENCY_NAMES, *DETAIL_NAMES, "voice_to_voice_ms")

metadata = MetaData()

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(64), primary_key=True),
    Column("transport", String(32), nullable=False),
    Column("caller", String(64)),  # masked: only the last digits of a number are kept
    Column("stt_provider", String(200)),
    Column("llm_provider", String(200)),
    Column("tts_provider", String(200)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("outcome", String(32)),  # answered | no_speech | error (the engine's view)
    Column("end_reason", String(300)),  # the transport's word, e.g. "ice_failed: ..."
    Column("turn_count", Integer, nullable=False, default=0),
    Column("stt_reconnections", Integer, nullable=False, default=0),
    Column("flags", JSON, nullable=False, default=list),  # e.g. ["ice_failed"]
    Column("flagged", Boolean, nullable=False, default=False),
    Column("error", Text),
    # The transport's own id for the call (Twilio CallSid, SIP Call-ID): to find it in the
    # carrier's logs. Added by migration 0002, so it comes last in the table.
    Column("transport_ref", String(100)),
    Index("ix_calls_started_at", "started_at"),
    Index("ix_calls_flagged_started_at", "flagged", "started_at"),
)

turns = Table(
    "turns",
    metadata,
    Column("call_id", String(64), ForeignKey("calls.call_id"), primary_key=True),
    Column("turn_index", Integer, primary_key=True),
    Column("outcome", String(32), nullable=False),
    Column("barge_in", Boolean, nullable=False, default=False),  # the caller cut the answer
    Column("transcript", Text, nullable=False, default=""),  # redacted
    Column("reply", Text, nullable=False, default=""),  # redacted
    Column("heard", Text, nullable=False, default=""),  # redacted
    Column("stt_confidence", Float),
    Column("error", Text),
    *(Column(name, Float) for name in TURN_LATENCY_COLUMNS),
    Column("started_ms", Float),  # the caller's first voiced audio, ms since the call started
    Column("ended_ms", Float),  # the turn's last stamp, ms since the call started
    Column("stamps_ms", JSON, nullable=False, default=dict),
    Column("waterfall", JSON, nullable=False, default=list),
    Column("tools", JSON, nullable=False, default=list),  # tool names only: results hold PII
    # Positions in the caller's inbound audio (ms of frames the engine was fed): "speech_end"
    # and "endpoint". A client that counts the frames it sent can time the endpoint exactly.
    Column("audio_ms", JSON),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(32), primary_key=True),  # replaying a spool inserts it once
    Column("call_id", String(64), ForeignKey("calls.call_id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("at_ms", Float),  # ms since the call started
    Column("kind", String(32), nullable=False),  # ice | reconnect | error | fallback | ...
    Column("data", JSON, nullable=False, default=dict),
    Index("ix_events_call_id", "call_id"),
)
