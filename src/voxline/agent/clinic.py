"""The clinic demo's appointment book: a real SQLite table, and the two tools over it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
SEED_SLOTS = (
    ("tuesday", "10:00"),
    ("tuesday", "14:00"),
    ("wednesday", "09:00"),
    ("thursday", "15:30"),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (
    day TEXT NOT NULL,
    time TEXT NOT NULL,
    patient TEXT,
    phone TEXT,
    booked_at TEXT,
    PRIMARY KEY (day, time)
)
"""


def _normal_time(text: str) -> str:
    """'2 PM', '14:00', '3:30 pm', '10' -> 'HH:MM' (24 h)."""
    t = text.strip().lower().replace(".", "")
    pm, am = t.endswith("pm"), t.endswith("am")
    t = t.removesuffix("pm").removesuffix("am").strip()
    hours, _, minutes = t.partition(":")
    hour, minute = int(hours), int(minutes or 0)
    if pm and hour < 12:
        hour += 12
    if am and hour == 12:
        hour = 0
    return f"{hour:02d}:{minute:02d}"


class AppointmentBook:
    def __init__(self, path: str | Path = ":memory:") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection, used from the tool thread pool: serialize access ourselves.
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(slots)")}
            if "phone" not in columns:  # a book made before callback numbers were kept
                self._db.execute("ALTER TABLE slots ADD COLUMN phone TEXT")
            self._db.executemany(
                "INSERT OR IGNORE INTO slots (day, time) VALUES (?, ?)", SEED_SLOTS
            )

    def free_times(self, day: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT time FROM slots WHERE day = ? AND patient IS NULL ORDER BY time",
                (day.lower(),),
            ).fetchall()
        return [r[0] for r in rows]

    def book(self, patient: str, day: str, time: str, phone: str | None = None) -> bool:
        with self._lock, self._db:
            cursor = self._db.execute(
                "UPDATE slots SET patient = ?, phone = ?, booked_at = datetime('now') "
                "WHERE day = ? AND time = ? AND patient IS NULL",
                (patient, phone, day.lower(), time),
            )
        return cursor.rowcount == 1

    def phone(self, day: str, time: str) -> str | None:
        """The callback number kept with a booking."""
        with self._lock:
            row = self._db.execute("SELECT phone FROM slots WHERE day = ? AND time = ?",
                                   (day.lower(), time)).fetchone()
        return row[0] if row else None

    def bookings(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT day, time, patient FROM slots WHERE patient IS NOT NULL ORDER BY day, time"
            ).fetchall()

    def tools(self) -> list[Callable[..., Any]]:
        book = self

        def check_availability(
            day: Annotated[str, "weekday, e.g. tuesday"],
        ) -> dict[str, Any]:
            """List the free appointment times on a weekday."""
            if day.lower() not in DAYS:
                return {"day": day, "free": [], "note": "the clinic is closed that day"}
            return {"day": day.lower(), "free": book.free_times(day)}

        def book_appointment(
            name: Annotated[str, "the patient's full name"],
            day: Annotated[str, "weekday, e.g. tuesday"],
            time: Annotated[str, "time of the slot, e.g. 2 PM or 14:00"],
            phone: Annotated[str, "the patient's callback phone number"] | None = None,
        ) -> dict[str, Any]:
            """Book a free appointment slot for a patient."""
            try:
                slot = _normal_time(time)
            except ValueError:
                return {"booked": False, "reason": f"{time!r} is not a time"}
            if book.book(name, day, slot, phone):
                return {"booked": True, "name": name, "day": day.lower(), "time": slot,
                        **({"phone": phone} if phone else {})}
            return {"booked": False, "reason": "that slot is not free",
                    "free": book.free_times(day)}

        return [check_availability, book_appointment]
