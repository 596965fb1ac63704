"""The records database goes down in the middle of a real call: nothing is lost.

SQLite: another connection takes the write lock (a long transaction, a backup); PostgreSQL: a
real server on loopback is stopped and started again. Either way the writer spools the ops it
cannot write, and once the database answers, replays them: the call row, every turn and the
flags are there, as if nothing had happened.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.config import RecordsSettings
from voxline.session.call import Call, CallEvent
from voxline.talk import talk
from voxline.telemetry.hub import Telemetry
from voxline.telemetry.records.schema import calls, turns
from voxline.testing.postgres import postgres

pytestmark = pytest.mark.models


@contextmanager
def sqlite_db(tmp_path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    path = tmp_path / "records.sqlite"
    holder: list[sqlite3.Connection] = []

    def down() -> None:
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # every other writer now gets "database is locked"
        holder.append(lock)

    def up() -> None:
        lock = holder.pop()
        lock.execute("ROLLBACK")
        lock.close()

    yield f"sqlite:///{path}", down, up


@contextmanager
def postgres_db(tmp_path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    with postgres() as server:
        yield server.url, server.stop, server.start


@pytest.mark.parametrize("backend", [sqlite_db, postgres_db], ids=["sqlite", "postgresql"])
async def test_database_outage_mid_call_loses_nothing(
    backend, providers, settings, caller_wavs, tmp_path
):
    await providers.warm(CLINIC_SYSTEM_PROMPT)
    with backend(tmp_path) as (url, down, up):
        local = settings.model_copy(update={
            "records_dir": tmp_path,
            "records": RecordsSettings(database_url=url, retry_s=0.3),
        })
        telemetry = Telemetry.from_settings(local)
        telemetry.start()
        try:
            writer = telemetry.recorder.writer
            outage: list[asyncio.Future[None]] = []

            def on_event(event: CallEvent) -> None:
                # After the first turn is recorded, take the database away (off the loop).
                if event.kind == "turn" and not outage:
                    loop = asyncio.get_running_loop()
                    outage.append(loop.run_in_executor(None, down))

            call = Call(providers, local, transport="file")
            call.observe(on_event)
            wavs = [caller_wavs["hours"], caller_wavs["cleaning"]]
            result = await talk(providers, local, wavs, call=call)
            await outage[0]
            assert await asyncio.to_thread(writer.flush, 30)
            assert writer.spooled > 0, "the outage came too late: nothing was spooled"
            assert writer.spool.pending()
            await asyncio.to_thread(up)
            assert await asyncio.to_thread(writer.drain, 60), "the spool was not replayed"
            assert writer.replayed >= writer.spooled and writer.rejected == 0
            assert not writer.spool.pending()

            with telemetry.recorder.reader().connect() as db:
                row = db.execute(select(calls).where(calls.c.call_id == result.call_id)).one()
                rows = db.execute(select(turns).where(turns.c.call_id == result.call_id)
                                  .order_by(turns.c.turn_index)).all()
        finally:
            telemetry.close()
    assert len(result.records) >= 2
    assert [t.turn_index for t in rows] == [r.index for r in result.records]
    assert [t.turn_latency_ms for t in rows] == \
        [r.latency["turn_latency_ms"] for r in result.records]
    assert row.outcome == "answered" and row.ended_at is not None
    assert row.turn_count == len(result.records)
