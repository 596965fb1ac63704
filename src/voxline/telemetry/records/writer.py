"""The record writer: a thread that takes record ops from a bounded queue and writes them.

The event loop only ever calls `submit`, which never waits: the database, its driver and the
disk all live on this thread. While the database is unreachable, ops go to the spool file
(spool.py) in order; every `retry_s` the writer tries the database again, and once it answers,
replays the spool before anything newer, so the order of a call's ops is kept.

An op the database refuses for a reason other than an outage (a bug: a value too long, a
constraint) is written to `<spool>.rejected.jsonl` with the error, never dropped silently.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from voxline.telemetry.records import migrate
from voxline.telemetry.records.ops import Op
from voxline.telemetry.records.spool import Spool
from voxline.telemetry.records.store import apply_ops

log = logging.getLogger(__name__)

BATCH_MAX = 200
_STOP = object()


def is_outage(err: BaseException) -> bool:
    """The database cannot be reached (as opposed to refusing what was sent)."""
    if isinstance(err, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


class RecordWriter:
    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        spool: Spool,
        *,
        retry_s: float = 5.0,
        queue_max: int = 10_000,
        migrate_schema: bool = True,
        on_result: Callable[[str, int], None] | None = None,
    ) -> None:
        """`on_result(result, count)` is told where ops went: written, spooled, replayed or
        rejected (the metrics count them); it runs on the writer thread."""
        self.spool = spool
        self.rejected_path = spool.path.with_name(spool.path.stem + ".rejected.jsonl")
        self.retry_s = retry_s
        self.written = 0  # ops in the database, replayed ones included
        self.spooled = 0
        self.replayed = 0
        self.rejected = 0
        self.overflowed = 0  # ops spooled by `submit` itself because the queue was full
        self.db_up: bool | None = None  # None until the first try
        self._on_result = on_result
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._migrate = migrate_schema
        self._ready = False  # connected and migrated
        self._last_try = 0.0
        self._queue: queue.Queue[object] = queue.Queue(queue_max)
        self._submitted = 0
        self._handled = 0
        self._progress = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="voxline-records", daemon=True)

    # -- the loop's side: never blocks ------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, op: Op) -> None:
        with self._progress:
            self._submitted += 1
        try:
            self._queue.put_nowait(op)
        except queue.Full:
            # The writer is far behind: a short append on this thread beats losing the record.
            self.spool.append([op])
            self.overflowed += 1
            self._count("spooled", 1)
            self._mark_handled(1)

    # -- waiting (tests, shutdown) ----------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every op submitted so far is in the database or the spool."""
        with self._progress:
            target = self._submitted
            return self._progress.wait_for(lambda: self._handled >= target, timeout)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every op submitted so far is in the database, the spool replayed."""
        deadline = time.monotonic() + timeout
        if not self.flush(timeout):
            return False
        while self.spool.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop after writing what is queued; what is left after `timeout` goes to the spool."""
        if self._thread.is_alive():
            self.flush(timeout)
            self._queue.put(_STOP)
            self._thread.join(timeout)
        leftover = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                leftover.append(item)
        self.spool.append(leftover)  # type: ignore[arg-type]
        if self._engine is not None:
            self._engine.dispose()

    # -- the writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch, stop = self._take()
            try:
                if self.spool.pending() and self._due():
                    self._replay()
                if batch:
                    self._write(batch)
            except Exception:  # a bug here must not stop every later record: keep the batch
                log.exception("records: writer fault; spooling %d ops", len(batch))
                self._to_spool(batch)
                self._last_try, self.db_up = time.monotonic(), False
            if batch:
                self._mark_handled(len(batch))
            if stop:
                return

    def _take(self) -> tuple[list[Op], bool]:
        wait = self.retry_s if self.spool.pending() else 1.0
        try:
            first = self._queue.get(timeout=wait)
        except queue.Empty:
            return [], False
        if first is _STOP:
            return [], True
        batch: list[Op] = [first]  # type: ignore[list-item]
        while len(batch) < BATCH_MAX:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

    def _due(self) -> bool:
        return self.db_up is not False or time.monotonic() - self._last_try >= self.retry_s

    def _write(self, batch: list[Op]) -> None:
        if self.spool.pending() or not self._due():
            self._to_spool(batch)  # older ops are waiting: these go behind them
            return
        try:
            self._apply(batch)
            self._count("written", len(batch))
        except SQLAlchemyError as err:
            if is_outage(err):
                self._down(err)
                self._to_spool(batch)
            else:
                self._one_by_one(batch)

    def _replay(self) -> None:
        def apply(ops: list[Op]) -> None:
            self._apply(ops)
            self._count("written", len(ops))
            self._count("replayed", len(ops))

        try:
            count = self.spool.replay(apply)
        except SQLAlchemyError as err:
            if is_outage(err):
                self._down(err)
                return
            log.error("records: a spooled op is refused (%s); moving the spool aside", err)
            self.spool.replaying.rename(self.rejected_path.with_suffix(".spool"))
            return
        if count:
            log.info("records: database back; replayed %d spooled record ops", count)

    def _apply(self, ops: list[Op]) -> None:
        self._last_try = time.monotonic()
        engine = self._engine_or_connect()
        if not self._ready:
            if self._migrate:
                migrate.upgrade(engine)
            self._ready = True
        with engine.begin() as connection:
            apply_ops(connection, ops)
        if self.db_up is False:
            log.info("records: database reachable again")
        self.db_up = True

    def _engine_or_connect(self) -> Engine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    def _one_by_one(self, batch: list[Op]) -> None:
        for op in batch:
            try:
                self._apply([op])
                self._count("written", 1)
            except SQLAlchemyError as err:
                if is_outage(err):
                    self._down(err)
                    self._to_spool([op])
                    continue
                self._count("rejected", 1)
                log.error("records: op refused by the database: %s", err)
                with open(self.rejected_path, "a", encoding="utf-8") as file:
                    file.write(json.dumps({"op": op, "error": str(err)}, default=str) + "\n")

    def _to_spool(self, batch: list[Op]) -> None:
        self.spool.append(batch)
        self._count("spooled", len(batch))

    def _count(self, result: str, count: int) -> None:
        setattr(self, result, getattr(self, result) + count)
        if self._on_result is not None:
            self._on_result(result, count)

    def _down(self, err: BaseException) -> None:
        if self.db_up is not False:
            log.warning("records: database unreachable (%s); spooling to %s",
                        str(err).splitlines()[0], self.spool.path)
        self.db_up = False
        self._last_try = time.monotonic()

    def _mark_handled(self, count: int) -> None:
        with self._progress:
            self._handled += count
            self._progress.notify_all()
