"""The call recorder of a worker process: redaction, the writer thread, and a read engine.

Built from RecordsSettings: SQLite under records_dir unless a database URL is set; the spool
beside it. `submit` is the only thing the event loop calls, and it never waits.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from voxline.config import Settings
from voxline.telemetry.records.database import database_url, make_engine, spool_path
from voxline.telemetry.records.ops import Op
from voxline.telemetry.records.redaction import Redactor, redact_text
from voxline.telemetry.records.spool import Spool
from voxline.telemetry.records.writer import RecordWriter


class Recorder:
    def __init__(
        self,
        url: str,
        spool: Path,
        *,
        retry_s: float = 5.0,
        queue_max: int = 10_000,
        migrate: bool = True,
        redact: Redactor = redact_text,
        on_result: Callable[[str, int], None] | None = None,
    ) -> None:
        self.url = url
        self.redact = redact
        self.writer = RecordWriter(
            lambda: make_engine(url), Spool(spool), retry_s=retry_s, queue_max=queue_max,
            migrate_schema=migrate, on_result=on_result,
        )
        self._reader: Engine | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        redact: Redactor = redact_text,
        on_result: Callable[[str, int], None] | None = None,
    ) -> Recorder:
        records = settings.records
        return cls(
            database_url(settings), spool_path(settings), retry_s=records.retry_s,
            queue_max=records.queue_max, migrate=records.migrate, redact=redact,
            on_result=on_result,
        )

    def start(self) -> None:
        self.writer.start()

    def submit(self, op: Op) -> None:
        self.writer.submit(op)

    def reader(self) -> Engine:
        """An engine for reads (the dashboard), used from worker threads only."""
        if self._reader is None:
            self._reader = make_engine(self.url)
        return self._reader

    def close(self, timeout: float = 10.0) -> None:
        self.writer.close(timeout)
        if self._reader is not None:
            self._reader.dispose()
