"""Structured logs: JSON lines (or a readable console format in development) with the call's
id on every line of that call.

structlog renders every record, including the stdlib `logging.getLogger(__name__)` lines the
rest of voxline writes: they pass through structlog's ProcessorFormatter, whose first step
merges the context variables bound for the current task. `bind_call` binds `call_id` and
`transport` when a call starts, inside the call's own task, so the turn engine, the tasks it
starts, and the providers it awaits all log with them, and other calls' tasks never see them.

A line is rendered where it is logged (the call's context is only there) and written by a
listener thread: a slow stderr (a full pipe to a log shipper) never stalls the event loop.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import sys
from contextlib import AbstractContextManager
from typing import IO, Literal

import structlog

HANDLER_NAME = "voxline-structlog"


def _shared() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(fmt: Literal["json", "console"] = "json") -> logging.Formatter:
    """A stdlib Formatter that renders any log record through structlog."""
    if fmt == "json":
        tail = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        tail = [structlog.dev.ConsoleRenderer(colors=False)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    )


class _Rendered(logging.handlers.QueueHandler):
    """Renders in the logging thread (contextvars are read there), queues the text; its
    listener writes it. `flush` waits until what was logged so far is written."""

    def __init__(self, stream: IO[str], fmt: Literal["json", "console"]) -> None:
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        super().__init__(self._queue)
        self.setFormatter(formatter(fmt))
        writer = logging.StreamHandler(stream)  # the default formatter: the rendered text
        self.listener = logging.handlers.QueueListener(self._queue, writer)
        self.listener.start()

    def flush(self) -> None:
        self.listener.stop()  # drains the queue
        self.listener.start()

    def close(self) -> None:
        # logging.config.dictConfig (uvicorn's, at start-up) closes every handler it finds and
        # this one stays installed: write what is queued, and keep writing.
        self.flush()
        super().close()

    def stop(self) -> None:
        """Write what is queued and end the listener thread (the handler is being replaced)."""
        self.listener.stop()


def configure_logging(
    fmt: Literal["json", "console"] = "json", level: str = "INFO", stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log line to `stream` (stderr) through structlog. Idempotent: a second call
    replaces the handler the first installed."""
    structlog.configure(
        processors=[
            *_shared(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _Rendered(stream or sys.stderr, fmt)
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        # Ours from an earlier call, and logging.basicConfig's plain one (the CLI's): each
        # line once, in one format. Other handlers (pytest's capture, say) stay.
        if old.get_name() == HANDLER_NAME or type(old) is logging.StreamHandler:
            root.removeHandler(old)
            if isinstance(old, _Rendered):
                old.stop()
    root.addHandler(handler)
    logging.getLogger("voxline").setLevel(level.upper())
    return handler


def bind_call(call_id: str, transport: str) -> None:
    """Put the call's id on every log line of the current task and the tasks it starts."""
    structlog.contextvars.bind_contextvars(call_id=call_id, transport=transport)


def call_logging(call_id: str, transport: str) -> AbstractContextManager[None]:
    """The call's id on every line logged inside the block, then the context as it was: for
    code that acts for one call outside the call's task (a SIP datagram callback, say)."""
    return structlog.contextvars.bound_contextvars(call_id=call_id, transport=transport)
