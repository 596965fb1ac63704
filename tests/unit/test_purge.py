"""The retention window on SQLite: old calls go with their turns, events and recordings; new
ones stay; a dry run counts and deletes nothing; the CLI prints the count and is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from voxline import cli
from voxline.privacy.audit import read_audit
from voxline.telemetry.records.database import make_engine
from voxline.telemetry.records.migrate import upgrade
from voxline.telemetry.records.purge import parse_age, purge
from voxline.telemetry.records.schema import calls, events, turns

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def add_call(engine, call_id: str, age: timedelta, n_turns: int = 2, n_events: int = 1) -> None:
    started = NOW - age
    with engine.begin() as db:
        db.execute(insert(calls).values(call_id=call_id, transport="file", started_at=started,
                                        turn_count=n_turns, stt_reconnections=0, flags=[],
                                        flagged=False))
        for i in range(n_turns):
            db.execute(insert(turns).values(call_id=call_id, turn_index=i, outcome="answered",
                                            transcript="[PHONE_1]", stamps_ms={},
                                            waterfall=[], tools=[]))
        for i in range(n_events):
            db.execute(insert(events).values(event_id=f"{call_id}-{i}", call_id=call_id,
                                             at=started, kind="barge_in", data={}))


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as db:
        return tuple(db.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (calls, turns, events))


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'calls.sqlite'}")
    upgrade(engine)
    add_call(engine, "old1", timedelta(days=45))
    add_call(engine, "old2", timedelta(days=31), n_turns=3, n_events=0)
    add_call(engine, "new1", timedelta(days=29))
    add_call(engine, "new2", timedelta(hours=1))
    yield engine
    engine.dispose()


def test_parse_age():
    assert parse_age("30d") == timedelta(days=30)
    assert parse_age(" 12H ") == timedelta(hours=12)
    assert parse_age("2w") == timedelta(weeks=2) and parse_age("90m") == timedelta(minutes=90)
    for bad in ("30", "d", "-3d", "0d", "1y", "3.5d"):
        with pytest.raises(ValueError, match="e.g. 30d"):
            parse_age(bad)


def test_dry_run_counts_and_deletes_nothing(engine, tmp_path):
    result = purge(engine, timedelta(days=30), dry_run=True, now=NOW)
    assert (result.calls, result.turns, result.events) == (2, 5, 1)
    assert result.summary().startswith("would delete 2 calls, 5 turns, 1 events")
    assert counts(engine) == (4, 9, 3)


def test_purge_deletes_old_calls_their_rows_and_recordings(engine, tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for name in ("old1.wav.enc", "old2.wav", "new1.wav.enc", "notes.txt"):
        (recordings / name).write_bytes(b"x")
    result = purge(engine, timedelta(days=30), recordings_dir=recordings, now=NOW)
    assert (result.calls, result.turns, result.events, result.recordings) == (2, 5, 1, 2)
    assert counts(engine) == (2, 4, 2)
    with engine.connect() as db:
        assert {r[0] for r in db.execute(select(calls.c.call_id))} == {"new1", "new2"}
    assert sorted(p.name for p in recordings.iterdir()) == ["new1.wav.enc", "notes.txt"]
    again = purge(engine, timedelta(days=30), recordings_dir=recordings, now=NOW)
    assert (again.calls, again.turns, again.recordings) == (0, 0, 0)


def test_cli_purge_prints_the_count_and_audits_it(engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VOXLINE_RECORDS_DIR", str(tmp_path))
    audit_path = tmp_path / "audit.jsonl"
    monkeypatch.setenv("VOXLINE_PRIVACY__AUDIT_LOG", str(audit_path))
    monkeypatch.setenv("VOXLINE_PRIVACY__RECORDINGS_DIR", str(tmp_path / "none"))
    # The fixture's calls are dated from NOW (2026-05-01): measured from today, older still.
    assert cli.main(["records", "purge", "--older-than", "1d", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("would delete")
    assert counts(engine)[0] == 4
    assert cli.main(["records", "purge", "--older-than", "30d"]) == 0
    assert capsys.readouterr().out.startswith("deleted")
    lines = read_audit(audit_path)
    assert [line["action"] for line in lines] == ["purge_dry_run", "purge"]
    assert lines[1]["detail"] == {"older_than_s": 30 * 86400}
    assert lines[1]["actor"].startswith("cli ")
    assert cli.main(["records", "purge", "--older-than", "soon"]) == 2
    assert "e.g. 30d" in capsys.readouterr().err
