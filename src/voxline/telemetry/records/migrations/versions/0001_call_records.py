"""calls, turns and events

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Spelled out, not imported from schema.py: a migration is history and must not change.
LATENCY_COLUMNS = (
    "endpoint_delay_ms",
    "stt_latency_ms",
    "llm_first_token_ms",
    "tts_first_chunk_ms",
    "turn_latency_ms",
    "stt_compute_ms",
    "first_clause_ms",
    "barge_in_stop_ms",
    "voice_to_voice_ms",
)


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("transport", sa.String(32), nullable=False),
        sa.Column("caller", sa.String(64)),
        sa.Column("stt_provider", sa.String(200)),
        sa.Column("llm_provider", sa.String(200)),
        sa.Column("tts_provider", sa.String(200)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(32)),
        sa.Column("end_reason", sa.String(300)),
        sa.Column("turn_count", sa.Integer, nullable=False),
        sa.Column("stt_reconnections", sa.Integer, nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_calls_started_at", "calls", ["started_at"])
    op.create_index("ix_calls_flagged_started_at", "calls", ["flagged", "started_at"])
    op.create_table(
        "turns",
        sa.Column("call_id", sa.String(64), sa.ForeignKey("calls.call_id"), primary_key=True),
        sa.Column("turn_index", sa.Integer, primary_key=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("barge_in", sa.Boolean, nullable=False),
        sa.Column("transcript", sa.Text, nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("heard", sa.Text, nullable=False),
        sa.Column("stt_confidence", sa.Float),
        sa.Column("error", sa.Text),
        *(sa.Column(name, sa.Float) for name in LATENCY_COLUMNS),
        sa.Column("started_ms", sa.Float),
        sa.Column("ended_ms", sa.Float),
        sa.Column("stamps_ms", sa.JSON, nullable=False),
        sa.Column("waterfall", sa.JSON, nullable=False),
        sa.Column("tools", sa.JSON, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(32), primary_key=True),
        sa.Column("call_id", sa.String(64), sa.ForeignKey("calls.call_id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at_ms", sa.Float),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_events_call_id", "events", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_events_call_id", table_name="events")
    op.drop_table("events")
    op.drop_table("turns")
    op.drop_index("ix_calls_flagged_started_at", table_name="calls")
    op.drop_index("ix_calls_started_at", table_name="calls")
    op.drop_table("calls")
