"""The retention window: delete calls older than it, with their turns, events and recordings.

    voxline records purge --older-than 30d [--dry-run]

A call is as old as its start. Deletion runs in batches of BATCH call ids, each batch one
transaction (events, then turns, then calls: the foreign keys' order), so a purge of a year of
records never holds one huge transaction, and one interrupted halfway leaves whole calls.
Recordings are deleted by the call ids purged, and any recording file older than the window
whose call is no longer in the database goes too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, func, select

from voxline.telemetry.records.schema import calls, events, turns

BATCH = 500
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """'30d', '12h', '90m', '2w' -> timedelta; ValueError with the accepted forms otherwise."""
    match = _DURATION.match(text.lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not an age: write a positive whole number and a unit, "
                         "m (minutes), h (hours), d (days) or w (weeks), e.g. 30d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    calls: int
    turns: int
    events: int
    recordings: int
    dry_run: bool

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (f"{verb} {self.calls} calls, {self.turns} turns, {self.events} events and "
                f"{self.recordings} recordings started before {self.cutoff.isoformat()}")


def _recordings(directory: Path | None, ids: set[str], cutoff: datetime,
                known: set[str]) -> list[Path]:
    if directory is None or not Path(directory).is_dir():
        return []
    found = []
    for path in Path(directory).iterdir():
        call_id = path.name.split(".", 1)[0]
        if not path.name.endswith((".wav", ".wav.enc")):
            continue
        old = datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff
        if call_id in ids or (old and call_id not in known):
            found.append(path)
    return found


def purge(engine: Engine, older_than: timedelta, *, dry_run: bool = False,
          recordings_dir: Path | None = None, now: datetime | None = None) -> PurgeResult:
    cutoff = (now or datetime.now(UTC)) - older_than
    with engine.connect() as db:
        ids = [r[0] for r in db.execute(select(calls.c.call_id)
                                        .where(calls.c.started_at < cutoff))]
        known = {r[0] for r in db.execute(select(calls.c.call_id)
                                          .where(calls.c.started_at >= cutoff))}
    counts = {"turns": 0, "events": 0}
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        with engine.begin() as db:
            for name, table in (("events", events), ("turns", turns)):
                counts[name] += db.execute(
                    select(func.count()).select_from(table).where(table.c.call_id.in_(batch))
                ).scalar_one()
                if not dry_run:
                    db.execute(delete(table).where(table.c.call_id.in_(batch)))
            if not dry_run:
                db.execute(delete(calls).where(calls.c.call_id.in_(batch)))
    files = _recordings(recordings_dir, set(ids), cutoff, known)
    if not dry_run:
        for path in files:
            path.unlink(missing_ok=True)
    return PurgeResult(cutoff, len(ids), counts["turns"], counts["events"], len(files), dry_run)
