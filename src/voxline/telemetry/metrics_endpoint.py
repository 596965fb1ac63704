"""GET /metrics in Prometheus' text format.

One worker: the default registry. Several (PROMETHEUS_MULTIPROC_DIR set): a fresh registry
with a MultiProcessCollector, which sums every worker's files; reading them is file I/O, so it
runs in a thread, off the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response


def _exposition() -> bytes:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_endpoint(before_scrape: Callable[[], Any] | None = None):
    async def metrics(request: Request) -> Response:
        if before_scrape is not None:
            before_scrape()  # bring counters the providers keep up to date
        body = await run_in_threadpool(_exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
