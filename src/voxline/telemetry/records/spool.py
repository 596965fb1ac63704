"""The spool: record ops kept in a JSON-lines file while the database is unreachable.

Rules:
1. Ops are appended in the order they were made, one JSON object a line, flushed and fsynced
   per batch, so a crash loses at most the batch being written.
2. Replay first renames the file to `<name>.replaying`; ops spooled meanwhile go to a fresh
   file, replayed after it. The `.replaying` file is deleted only once every op in it is in
   the database; replay that fails half-way leaves it, and the next replay starts it again
   (ops are idempotent, so the half already written does no harm).
3. A line that does not parse (a torn last line after a crash) is skipped and counted.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from voxline.telemetry.records.ops import Op

REPLAY_BATCH = 500


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.replaying = self.path.with_name(self.path.name + ".replaying")
        self.torn_lines = 0
        self._lock = threading.Lock()  # the writer thread, and the loop on a full queue

    def pending(self) -> bool:
        return self.replaying.exists() or self.path.exists()

    def append(self, ops: list[Op]) -> None:
        if not ops:
            return
        text = "".join(json.dumps(op, separators=(",", ":"), default=str) + "\n" for op in ops)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())

    def replay(self, apply: Callable[[list[Op]], None]) -> int:
        """Hand every spooled op to `apply`, in order, in batches; returns how many. Raises
        whatever `apply` raises, keeping what was not yet applied."""
        count = 0
        for _ in range(2):  # the file being replayed, then what was spooled before this call
            with self._lock:
                if not self.replaying.exists():
                    if not self.path.exists():
                        break
                    self.path.rename(self.replaying)
            for batch in self._batches(self.replaying):
                apply(batch)
                count += len(batch)
            self.replaying.unlink()
        return count

    def _batches(self, path: Path) -> Iterator[list[Op]]:
        batch: list[Op] = []
        with open(path, encoding="utf-8") as file:
            for line in file:
                try:
                    batch.append(json.loads(line))
                except json.JSONDecodeError:
                    self.torn_lines += 1
                    continue
                if len(batch) >= REPLAY_BATCH:
                    yield batch
                    batch = []
        if batch:
            yield batch
