"""Call records on SQLite: migrations, upserts, the writer thread, the spool, rejected ops."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from voxline.telemetry.flags import call_flags, turn_flags
from voxline.telemetry.records import migrate, ops
from voxline.telemetry.records.database import make_engine
from voxline.telemetry.records.redaction import mask_caller, redact_text
from voxline.telemetry.records.schema import calls, events, metadata, turns
from voxline.telemetry.records.spool import Spool
from voxline.telemetry.records.store import apply_ops
from voxline.telemetry.records.writer import RecordWriter

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def a_turn(index: int, **latency: float) -> dict:
    return {
        "index": index, "outcome": "answered", "transcript": "call me at 555 123 4567",
        "reply": "Sure.", "heard": "Sure.", "stt_confidence": 0.9, "interrupted": False,
        "latency": {"turn_latency_ms": 300.0, **latency},
        "stamps_ms": {"speech_start": 10.0 + index * 1000, "speech_end": 500.0 + index * 1000},
        "waterfall": [("endpoint", 0.0, 900.0)], "tool_calls": [{"name": "book", "arguments":
                                                                  "{}", "result": "ok"}],
        "audio_ms": {"speech_end": 480 + index * 1000, "endpoint": 1080 + index * 1000},
    }


def call_ops(call_id: str, turns_: int = 2) -> list[ops.Op]:
    out = [ops.call_row(call_id, "file", NOW, caller="+15550001111", transport_ref="CA" + call_id)]
    out += [ops.turn_row(call_id, a_turn(i), redact_text) for i in range(turns_)]
    out.append(ops.event_row(call_id, "barge_in", NOW, 12.5, {"dropped_frames": 3}))
    out.append(ops.call_row(call_id, "file", NOW, ended_at=NOW, outcome="answered",
                            turn_count=turns_, stt_reconnections=0, flags=[]))
    return out


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'records.sqlite'}")
    yield engine
    engine.dispose()


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as db:
        return tuple(db.execute(select(func.count()).select_from(t)).scalar()
                     for t in (calls, turns, events))


def test_migrations_build_exactly_the_schema(engine):
    migrate.upgrade(engine)
    with engine.connect() as db:
        assert compare_metadata(MigrationContext.configure(db), metadata) == []
    migrate.upgrade(engine)  # a second run is a no-op


def test_ops_are_idempotent_and_redacted(engine):
    migrate.upgrade(engine)
    batch = call_ops("c1")
    for _ in range(2):  # a replay after a half-written batch applies ops twice
        with engine.begin() as db:
            apply_ops(db, batch)
    assert counts(engine) == (1, 2, 1)
    with engine.connect() as db:
        row = db.execute(select(calls)).one()
        turn = db.execute(select(turns).order_by(turns.c.turn_index)).first()
    assert row.caller == "********1111" and row.outcome == "answered" and not row.flagged
    assert turn.transcript == "call me at [NUMBER]" and turn.tools == ["book"]
    assert turn.turn_latency_ms == 300.0 and turn.started_ms == 10.0
    assert turn.audio_ms == {"speech_end": 480, "endpoint": 1080}
    assert row.transport_ref == "CAc1"  # kept by the later call_row that does not name it


def test_flags_added_later_are_merged(engine):
    migrate.upgrade(engine)
    with engine.begin() as db:
        apply_ops(db, call_ops("c1"))
        apply_ops(db, [ops.add_flags("c1", ["ice_failed"], end_reason="ice_failed: checks")])
        apply_ops(db, [ops.add_flags("c1", ["ice_failed", "stt_reconnections"])])
    with engine.connect() as db:
        row = db.execute(select(calls)).one()
    assert row.flags == ["ice_failed", "stt_reconnections"] and row.flagged
    assert row.end_reason == "ice_failed: checks"


def test_writer_spools_while_locked_and_replays_in_order(tmp_path):
    path = tmp_path / "records.sqlite"
    url = f"sqlite:///{path}"
    results: list[tuple[str, int]] = []
    writer = RecordWriter(lambda: make_engine(url), Spool(tmp_path / "spool.jsonl"),
                          retry_s=0.1, on_result=lambda r, n: results.append((r, n)))
    writer.start()
    try:
        writer.submit(call_ops("c0", 0)[0])
        assert writer.flush(10) and writer.written == 1
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        for op in call_ops("c1", 3):  # the call row first, its turns after: order matters (FK)
            writer.submit(op)
        assert writer.flush(20)
        assert writer.spooled == 6 and writer.db_up is False
        assert len((tmp_path / "spool.jsonl").read_text().splitlines()) == 6
        lock.execute("ROLLBACK")
        lock.close()
        assert writer.drain(20)
    finally:
        writer.close()
    assert writer.replayed == 6 and writer.rejected == 0
    engine = make_engine(url)
    assert counts(engine) == (2, 3, 1)
    engine.dispose()
    assert ("spooled", 6) in results and ("replayed", 6) in results
    assert not (tmp_path / "spool.jsonl").exists()


def test_spool_left_by_a_crash_is_replayed_at_start_torn_line_skipped(tmp_path):
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append(call_ops("c1", 1))
    with open(spool.path, "a") as file:
        file.write('{"op": "turn", "row": {"call_id"')  # the process died mid-line
    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    writer = RecordWriter(lambda: make_engine(url), Spool(spool.path), retry_s=0.1)
    writer.start()
    try:
        assert writer.drain(20)
    finally:
        writer.close()
    assert writer.replayed == 4 and writer.spool.torn_lines == 1
    engine = make_engine(url)
    assert counts(engine) == (1, 1, 1)
    engine.dispose()


def test_an_op_the_database_refuses_is_kept_aside_not_dropped(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    writer = RecordWriter(lambda: make_engine(url), Spool(tmp_path / "spool.jsonl"))
    writer.start()
    try:
        orphan = ops.turn_row("no-such-call", a_turn(0), redact_text)  # foreign key fails
        good = call_ops("c1", 1)
        for op in [good[0], orphan, *good[1:]]:
            writer.submit(op)
        assert writer.flush(10)
    finally:
        writer.close()
    assert writer.rejected == 1 and writer.written == 4
    kept = [json.loads(line) for line in writer.rejected_path.read_text().splitlines()]
    assert kept[0]["op"]["row"]["call_id"] == "no-such-call" and "FOREIGN KEY" in kept[0]["error"]


def test_a_full_queue_spools_instead_of_blocking(tmp_path):
    writer = RecordWriter(lambda: make_engine("sqlite://"), Spool(tmp_path / "spool.jsonl"),
                          queue_max=10)  # not started: nothing drains the queue
    batch = call_ops("c1", 12)
    for op in batch:
        writer.submit(op)
    assert writer.overflowed == len(batch) - 10
    assert len(writer.spool.path.read_text().splitlines()) == len(batch) - 10
    writer.close(0.1)  # what was queued goes to the spool too
    assert len(writer.spool.path.read_text().splitlines()) == len(batch)


def test_redaction_and_masking():
    assert redact_text("I'm at +1 (555) 123-4567 or jo.doe@example.com") == \
        "I'm at [NUMBER] or [EMAIL]"
    assert redact_text("open 8 AM to 5 PM") == "open 8 AM to 5 PM"
    assert mask_caller("+15551234567") == "********4567" and mask_caller(None) is None


def test_flag_rules():
    budgets = {"llm_first_token_ms": 250.0, "turn_latency_ms": 800.0}
    fast = turn_flags({"llm_first_token_ms": 200.0, "turn_latency_ms": None}, budgets)
    slow = turn_flags({"llm_first_token_ms": 251.0, "turn_latency_ms": 900.0}, budgets)
    assert fast == set()
    assert slow == {"over_budget:llm_first_token_ms", "over_budget:turn_latency_ms"}
    assert call_flags([fast], 2, 3, False) == []
    assert call_flags([fast, slow], 3, 3, True) == [
        "ice_failed", "over_budget:llm_first_token_ms", "over_budget:turn_latency_ms",
        "stt_reconnections",
    ]


def test_the_spool_of_a_worker_that_is_gone_is_adopted_and_replayed(tmp_path):
    spool_dir = tmp_path / "spool"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Spool(spool_dir / f"{gone}.jsonl").append(call_ops("dead-worker", 2))
    (spool_dir / f"{gone}.rejected.jsonl").write_text('{"op": {}, "error": "x"}\n')
    alive = Spool(spool_dir / f"{os.getppid()}.jsonl")  # a live worker's: left alone
    alive.append(call_ops("live-worker", 1))
    url = f"sqlite:///{tmp_path / 'records.sqlite'}"
    mine = Spool(spool_dir / f"{os.getpid()}.jsonl")
    assert mine.pending()
    writer = RecordWriter(lambda: make_engine(url), mine, retry_s=0.1)
    writer.start()
    try:
        deadline = time.monotonic() + 20
        while writer.replayed < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        writer.close()
    assert writer.replayed == 5 and writer.rejected == 0
    engine = make_engine(url)
    with engine.connect() as db:
        ids = {r for (r,) in db.execute(select(calls.c.call_id))}
    engine.dispose()
    assert ids == {"dead-worker"}
    assert alive.path.exists() and (spool_dir / f"{gone}.rejected.jsonl").exists()
    assert not (spool_dir / f"{gone}.jsonl").exists()
