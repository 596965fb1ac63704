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


_UPSERTS = {  # op kind -> (table, key columns, whether a newer row replaces the stored one)
    "call": (calls, ("call_id",), True),
    "turn": (turns, ("call_id", "turn_index"), True),
    "event": (events, ("event_id",), False),
}


def apply_ops(connection: Connection, ops: Iterable[Op]) -> None:
    """Apply `ops` in order. A run of upserts of one kind with the same columns goes to the
    database as one executemany of one cached statement: with a hundred calls writing events,
    building and compiling a statement per row was most of the writer thread's time (and it
    holds the GIL the calls need)."""
    run: list[dict[str, Any]] = []
    run_shape: tuple[str, tuple[str, ...]] | None = None
    for op in ops:
        kind = op["op"]
        if kind in _UPSERTS:
            row = _row(op["row"])
            shape = (kind, tuple(row))
            if shape != run_shape:
                _flush(connection, run_shape, run)
                run, run_shape = [], shape
            run.append(row)
            continue
        _flush(connection, run_shape, run)
        run, run_shape = [], None
        if kind == "add_flags":
            _add_flags(connection, op["call_id"], op["flags"], op.get("fields") or {})
        else:
            raise ValueError(f"unknown record op {kind!r}")
    _flush(connection, run_shape, run)


def _flush(connection: Connection, shape: tuple[str, tuple[str, ...]] | None,
           rows: list[dict[str, Any]]) -> None:
    if shape is None or not rows:
        return
    kind, columns = shape
    table, keys, replace = _UPSERTS[kind]
    connection.execute(_upsert_statement(connection.dialect.name, table, columns, keys, replace),
                       rows)


def _row(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in _DATETIMES & out.keys():
        if isinstance(out[key], str):
            out[key] = datetime.fromisoformat(out[key])
    if "flags" in out:
        out["flagged"] = bool(out["flags"])
    return out


@functools.cache
def _upsert_statement(dialect_name: str, table: Table, columns: tuple[str, ...],
                      keys: tuple[str, ...], replace: bool):
    """INSERT ... ON CONFLICT for rows with exactly `columns`, built once per shape: executed
    with a list of rows it is one executemany, and SQLAlchemy compiles it once."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect_name)
    if dialect is None:
        raise NotImplementedError(f"call records support SQLite and PostgreSQL, not "
                                  f"{dialect_name}")
    stmt = dialect.insert(table)
    excluded = _excluded(dialect_name, table)
    changes = {k: excluded[k] for k in columns if k not in keys}
    if replace and changes:
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)
    return stmt.on_conflict_do_nothing(index_elements=list(keys))


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
