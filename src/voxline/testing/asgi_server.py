"""Serve an ASGI app with uvicorn on a free loopback port, inside the running event loop.

    async with serving(create_app(settings)) as base_url:
        ...

For tests that need the app's own objects (app.state) next to a real server and real sockets;
`serve_process.served` runs `voxline serve` in a child process instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from voxline.testing.serve_process import free_port

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


@asynccontextmanager
async def serving(app, log_level: str = "warning") -> AsyncIterator[str]:
    """Start uvicorn (lifespan on), yield its base URL, and stop it on exit."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("uvicorn stopped before it started")
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, STOP_TIMEOUT_S)
