"""The audit log of record access: who read or deleted which call records, and when.

One JSON object per line, appended, never rewritten:

    {"at": "2026-05-01T09:12:03.123456+00:00", "actor": "dashboard 10.0.0.7",
     "action": "view_call", "target": "3f2a9c1be0d4", "detail": {...}}

Rules:

1. Each line is written with one `write` on a descriptor opened O_APPEND, so lines from several
   worker processes never interleave, and nothing earlier is ever changed.
2. An access that cannot be audited does not happen: `record` raises AuditError, and the
   dashboard and CLI refuse the read (HIPAA's access-logging requirement).
3. Lines name calls by id and say what was done; they never hold what was said.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voxline.errors import VoxlineError


class AuditError(VoxlineError):
    """The audit log could not be written: the access it would record is refused."""


def cli_actor() -> str:
    """Who runs a CLI command: the OS user and the host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"cli {user}@{socket.gethostname()}"


class AuditLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, actor: str, action: str, target: str | None = None,
               **detail: Any) -> None:
        """Append one line; raises AuditError if it cannot be written."""
        entry = {"at": datetime.now(UTC).isoformat(), "actor": actor, "action": action,
                 "target": target, "detail": detail}
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode()
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as err:
            raise AuditError(
                f"cannot append to the audit log {self.path}: {err.strerror}; fix the path or "
                "its permissions (VOXLINE_PRIVACY__AUDIT_LOG); record access is refused until "
                "it can be audited"
            ) from None


def read_audit(path: str | Path) -> list[dict[str, Any]]:
    """Every line of an audit log, oldest first ([] if there is none yet)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]
