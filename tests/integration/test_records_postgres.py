"""The call records on a real PostgreSQL server on loopback: the migrations build the schema
exactly, ops are idempotent upserts, and the dashboard's queries run there too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from voxline.telemetry.records import migrate, ops, queries
from voxline.telemetry.records.database import make_engine
from voxline.telemetry.records.redaction import redact_text
from voxline.telemetry.records.schema import calls, metadata, turns
from voxline.telemetry.records.store import apply_ops
from voxline.testing.postgres import postgres


@pytest.fixture(scope="module")
def engine():
    with postgres() as server:
        engine = make_engine(server.url)
        yield engine
        engine.dispose()


def test_migrations_build_exactly_the_schema_on_postgresql(engine):
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # again: a no-op
    with engine.connect() as db:
        assert db.dialect.name == "postgresql"
        assert compare_metadata(MigrationContext.configure(db), metadata) == []


def test_upserts_and_dashboard_reads_on_postgresql(engine):
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    record = {"index": 0, "outcome": "answered", "transcript": "it's jo@example.com",
              "latency": {"turn_latency_ms": 420.0, "llm_first_token_ms": 260.0},
              "stamps_ms": {"speech_start": 5.0, "last_audio_out": 4000.0}}
    batch = [
        ops.call_row("pg1", "sip", now, caller="+441632960000"),
        ops.turn_row("pg1", record, redact_text),
        ops.call_row("pg1", "sip", now, ended_at=now + timedelta(seconds=9),
                     outcome="answered", turn_count=1, stt_reconnections=3,
                     flags=["over_budget:llm_first_token_ms", "stt_reconnections"]),
        ops.add_flags("pg1", ["ice_failed"], end_reason="bye"),
    ]
    for _ in range(2):
        with engine.begin() as db:
            apply_ops(db, batch)
    with engine.connect() as db:
        assert db.execute(select(func.count()).select_from(turns)).scalar() == 1
        row = db.execute(select(calls).where(calls.c.call_id == "pg1")).one()
    assert row.flagged and row.end_reason == "bye" and row.caller.endswith("0000")
    assert set(row.flags) == {"ice_failed", "over_budget:llm_first_token_ms",
                              "stt_reconnections"}
    listed = queries.recent_calls(engine, now - timedelta(hours=1))
    assert [c["call_id"] for c in listed] == ["pg1"] and listed[0]["turn_latencies"] == [420.0]
    stats = queries.component_stats(engine, now - timedelta(hours=1))
    assert stats["turn_latency_ms"] == {"p50": 420.0, "p95": 420.0, "count": 1}
    detail = queries.call_detail(engine, "pg1")
    assert detail["turns"][0]["transcript"] == "it's [EMAIL]"


def test_a_batch_with_one_row_upserted_twice_keeps_the_later_on_postgresql(engine):
    # Consecutive upserts of one shape go out as one executemany: the same key twice in it
    # must still apply in order, not fail as a multi-row INSERT ... ON CONFLICT would.
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    batch = [ops.call_row("pg2", "twilio", now, outcome="pending"),
             ops.call_row("pg2", "twilio", now, outcome="answered")]
    with engine.begin() as db:
        apply_ops(db, batch)
    with engine.connect() as db:
        assert db.execute(select(calls.c.outcome).where(calls.c.call_id == "pg2")).scalar() \
            == "answered"
