"""The spool: record ops kept in a JSON-lines file while the database is unreachable.

Rules:
1. Ops are appended in the order they were made, one JSON object a line, flushed and fsynced
   per batch, so a crash loses at most the batch being written.
2. Replay first renames the file to `<name>.replaying`; ops spooled meanwhile go to a fresh
   file, replayed after it. The `.replaying` file is deleted only once every op in it is in
   the database; replay that fails half-way leaves it, and the next replay starts it again
   (ops are idempotent, so the half already written does no harm).
3. A line that does not parse (a torn last line after a crash) is skipped and counted.
4. Several worker processes share a spool directory, each with its own file named after its
   pid (database.spool_path): one never renames a file another is appending to. The spool of a
   process that is gone (a crash, a restart) is adopted and replayed by whichever writer gets
   to it first; the rename makes that exactly one.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from voxline.telemetry.records.ops import Op

REPLAY_BATCH = 500
_PROCESS_SPOOL = re.compile(r"(\d+)\.jsonl(\.replaying)?")  # a worker's own spool file


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.replaying = self.path.with_name(self.path.name + ".replaying")
        self.torn_lines = 0
        self._lock = threading.Lock()  # the writer thread, and the loop on a full queue

    def pending(self) -> bool:
        return self.replaying.exists() or self.path.exists() or bool(self._orphans())

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
        while self._next_source():
            for batch in self._batches(self.replaying):
                apply(batch)
                count += len(batch)
            self.replaying.unlink()
        return count

    def _next_source(self) -> bool:
        """Put the next file to replay at `self.replaying`: an interrupted replay first, then
        the spools of processes that are gone, then this process's own; False when none."""
        with self._lock:
            if self.replaying.exists():
                return True
            for orphan in self._orphans():
                try:
                    orphan.rename(self.replaying)
                    return True
                except FileNotFoundError:
                    continue  # another worker adopted it first
            if self.path.exists():
                self.path.rename(self.replaying)
                return True
            return False

    def _orphans(self) -> list[Path]:
        if not self.path.stem.isdigit() or not self.path.parent.exists():
            return []  # not a per-process spool: nothing to adopt
        found = []
        for candidate in sorted(self.path.parent.iterdir()):
            match = _PROCESS_SPOOL.fullmatch(candidate.name)
            if match and candidate not in (self.path, self.replaying) \
                    and not _alive(int(match[1])):
                found.append(candidate)
        return found

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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
