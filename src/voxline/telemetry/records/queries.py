"""Reads for the dashboard: recent calls (flagged first), per-component percentiles over a
time window, and one call with its turns and events. Plain SQL that SQLite and PostgreSQL both
run; percentiles are taken in Python over at most MAX_TURNS turns, which is portable and, for a
dashboard window, cheap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from voxline.telemetry.records.schema import TURN_LATENCY_COLUMNS, calls, events, turns

MAX_TURNS = 20_000


def recent_calls(engine: Engine, since: datetime, limit: int = 100) -> list[dict[str, Any]]:
    query = (
        select(calls)
        .where(calls.c.started_at >= since)
        .order_by(calls.c.flagged.desc(), calls.c.started_at.desc())
        .limit(limit)
    )
    with engine.connect() as db:
        rows = [dict(r._mapping) for r in db.execute(query)]
        ids = [r["call_id"] for r in rows]
        per_call: dict[str, list[float | None]] = {i: [] for i in ids}
        if ids:
            turn_query = (
                select(turns.c.call_id, turns.c.turn_latency_ms)
                .where(turns.c.call_id.in_(ids))
                .order_by(turns.c.call_id, turns.c.turn_index)
            )
            for call_id, value in db.execute(turn_query):
                per_call[call_id].append(value)
    for row in rows:
        row["turn_latencies"] = per_call[row["call_id"]]
    return rows


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def component_stats(engine: Engine, since: datetime) -> dict[str, dict[str, float | None]]:
    """{latency name: {"p50", "p95", "count"}} over the turns of calls started since `since`."""
    columns = [turns.c[name] for name in TURN_LATENCY_COLUMNS]
    query = (
        select(*columns)
        .join(calls, calls.c.call_id == turns.c.call_id)
        .where(calls.c.started_at >= since)
        .order_by(calls.c.started_at.desc())
        .limit(MAX_TURNS)
    )
    values: dict[str, list[float]] = {name: [] for name in TURN_LATENCY_COLUMNS}
    with engine.connect() as db:
        for row in db.execute(query):
            for name, value in zip(TURN_LATENCY_COLUMNS, row):
                if value is not None:
                    values[name].append(value)
    return {
        name: {"p50": percentile(v, 50), "p95": percentile(v, 95), "count": len(v)}
        for name, v in values.items()
    }


def call_detail(engine: Engine, call_id: str) -> dict[str, Any] | None:
    with engine.connect() as db:
        row = db.execute(select(calls).where(calls.c.call_id == call_id)).first()
        if row is None:
            return None
        turn_rows = db.execute(
            select(turns).where(turns.c.call_id == call_id).order_by(turns.c.turn_index)
        )
        event_rows = db.execute(
            select(events).where(events.c.call_id == call_id).order_by(events.c.at)
        )
        return {
            "call": dict(row._mapping),
            "turns": [dict(r._mapping) for r in turn_rows],
            "events": [dict(r._mapping) for r in event_rows],
        }
