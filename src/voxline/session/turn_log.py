"""The turn records a call keeps in memory: the newest `TURNS_KEPT`, indexed by turn number.

Every record also goes to the call's observers when it is written (telemetry stores it), so
what drops out of memory here is not lost; it just no longer costs the worker memory for the
rest of a long call. Reads like the list it replaces while nothing has been dropped:
``len(log)`` is the number of turns so far (the next turn's index), ``log[i]`` is turn ``i``
(negative counts from the newest), ``log[a:b]`` a list of turns a..b-1, iteration yields the records still held, oldest first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import overload

from voxline.session.record import TurnRecord

# About 80 minutes of 10 s caller turns: whole ordinary calls stay complete in memory.
TURNS_KEPT = 500


class TurnLog:
    def __init__(self, keep: int = TURNS_KEPT) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1 turn, got {keep}")
        self._records: deque[TurnRecord] = deque(maxlen=keep)
        self._total = 0

    def append(self, record: TurnRecord) -> None:
        self._records.append(record)
        self._total += 1

    @property
    def first_kept(self) -> int:
        """Index of the oldest turn still in memory."""
        return self._total - len(self._records)

    def __len__(self) -> int:
        return self._total

    @overload
    def __getitem__(self, index: int) -> TurnRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[TurnRecord]: ...

    def __getitem__(self, index: int | slice) -> TurnRecord | list[TurnRecord]:
        if isinstance(index, slice):  # by turn number, like the list it replaces
            return [self[i] for i in range(*index.indices(self._total))]
        if index < 0:
            index += self._total
        if not 0 <= index < self._total:
            raise IndexError(f"turn {index} does not exist: {self._total} turns so far")
        if index < self.first_kept:
            raise IndexError(
                f"turn {index} is no longer in memory (the newest {len(self._records)} are); "
                "read it from the call records"
            )
        return self._records[index - self.first_kept]

    def __iter__(self) -> Iterator[TurnRecord]:
        return iter(self._records)

    def __reversed__(self) -> Iterator[TurnRecord]:
        return reversed(self._records)

    def __bool__(self) -> bool:
        return self._total > 0

    def __eq__(self, other: object) -> bool:
        """Equal to a list (or TurnLog) of the same records, while nothing has been dropped."""
        if isinstance(other, (list, TurnLog)):
            return self.first_kept == 0 and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it replaces
