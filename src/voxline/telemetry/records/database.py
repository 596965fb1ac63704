"""The records engine: SQLite in records_dir by default, any SQLAlchemy URL (PostgreSQL) else."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from voxline.config import Settings

# Short waits: an unreachable database must send records to the spool quickly, not hold the
# writer thread (and the queue behind it) for the driver's default minutes.
SQLITE_BUSY_TIMEOUT_S = 2.0
POSTGRES_CONNECT_TIMEOUT_S = 3


def database_url(settings: Settings) -> str:
    if settings.records.database_url:
        return settings.records.database_url
    return f"sqlite:///{Path(settings.records_dir) / 'calls.sqlite'}"


def spool_path(settings: Settings) -> Path:
    """This process's spool file: one per worker process (see spool.py, rule 4)."""
    if settings.records.spool_path is not None:
        return settings.records.spool_path
    return Path(settings.records_dir) / "spool" / f"{os.getpid()}.jsonl"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S} if "postgres" in url else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL: the dashboard reads while the writer writes, and several workers share the file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
