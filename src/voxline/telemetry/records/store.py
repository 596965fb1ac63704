"""Applying record ops to the database: upserts, so any op may be applied twice."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from voxline.telemetry.records.ops import Op
from voxline.telemetry.records.schema import calls, events, turns

_DATETIMES = {"started_at", "ended_at", "at"}


def apply_ops(connection: Connection, ops: Iterable[Op]) -> None:
    for op in ops:
        kind = op["op"]
        if kind == "call":
            _upsert(connection, calls, _row(op["row"]), ("call_id",))
        elif kind == "turn":
            _upsert(connection, turns, _row(op["row"]), ("call_id", "turn_index"))
        elif kind == "event":
            _upsert(connection, events, _row(op["row"]), ("event_id",), replace=False)
        elif kind == "add_flags":
            _add_flags(connection, op["call_id"], op["flags"], op.get("fields") or {})
        else:
            raise ValueError(f"unknown record op {kind!r}")


def _row(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in _DATETIMES & out.keys():
        if isinstance(out[key], str):
            out[key] = datetime.fromisoformat(out[key])
    if "flags" in out:
        out["flagged"] = bool(out["flags"])
    return out


def _upsert(
    connection: Connection,
    table: Table,
    row: dict[str, Any],
    keys: tuple[str, ...],
    *,
    replace: bool = True,
) -> None:
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(connection.dialect.name)
    if dialect is None:
        raise NotImplementedError(f"call records support SQLite and PostgreSQL, not "
                                  f"{connection.dialect.name}")
    stmt = dialect.insert(table).values(**row)
    excluded = _excluded(connection.dialect.name, table)
    changes = {k: excluded[k] for k in row if k not in keys}
    if replace and changes:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    connection.execute(stmt)


@functools.cache
def _excluded(dialect_name: str, table: Table):  # -> the EXCLUDED pseudo-table's columns
    """`insert(table).excluded`, built once per table: SQLAlchemy builds the alias's column
    proxies anew on every access, which was a quarter of the writer thread's time (and GIL)
    with a hundred calls writing events."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[dialect_name]
    return dialect.insert(table).excluded


def _add_flags(
    connection: Connection, call_id: str, flags: list[str], fields: Mapping[str, Any]
) -> None:
    current = connection.execute(select(calls.c.flags).where(calls.c.call_id == call_id))
    found = current.scalar_one_or_none()
    merged = sorted(set(found or []) | set(flags))
    connection.execute(
        update(calls)
        .where(calls.c.call_id == call_id)
        .values(flags=merged, flagged=bool(merged), **fields)
    )
