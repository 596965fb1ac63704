"""Log capture for tests: each line's bound structlog context (call_id, transport), or the
lines themselves as voxline renders them (JSON)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from voxline.telemetry.logs import configure_logging, formatter


class BoundContext(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[logging.LogRecord, dict]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record, structlog.contextvars.get_contextvars()))

    def naming(self, call_id: str) -> list[tuple[logging.LogRecord, dict]]:
        """The lines whose text names the call."""
        return [(r, c) for r, c in self.lines if call_id in r.getMessage()]

    def unbound(self, call_id: str) -> list[str]:
        """Lines that name the call but do not carry its call_id: should be none."""
        return [f"{r.name}: {r.getMessage()}" for r, c in self.naming(call_id)
                if c.get("call_id") != call_id]


@contextmanager
def bound_context(logger: str = "voxline", level: int = logging.INFO) -> Iterator[BoundContext]:
    handler = BoundContext()
    target = logging.getLogger(logger)
    previous = target.level
    target.addHandler(handler)
    target.setLevel(min(level, previous) if previous else level)
    try:
        yield handler
    finally:
        target.removeHandler(handler)
        target.setLevel(previous)


@contextmanager
def json_log_lines(level: str = "INFO") -> Iterator[io.StringIO]:
    """Every log line written inside the block, rendered as voxline renders them (JSON), in a
    buffer; logging is put back to JSON at INFO afterwards."""
    configure_logging("json", level, io.StringIO())
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        configure_logging("json", "INFO", io.StringIO())
