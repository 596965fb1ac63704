"""A small pool of stream-input sockets opened before the turns that will use them.

A stream-input socket serves one generation, and its handshake (TLS + HTTP upgrade, ~100-300 ms
from a data centre) would otherwise sit in front of every reply. So the pool is filled at
start-up (`warm()`), a turn takes one, and its replacement opens in the background. Idle pooled
sockets send the documented keep-alive and ask for the longest inactivity timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from voxline.providers.elevenlabs.generation import Generation

log = logging.getLogger(__name__)


class SocketPool:
    def __init__(
        self,
        open_socket: Callable[[str], Awaitable[Generation]],
        output_format: str,
        size: int,
    ) -> None:
        self._open = open_socket  # output_format -> a socket, connected and initialised
        self.output_format, self.size = output_format, size  # only this format is pooled
        self._ready: deque[Generation] = deque()
        self._refill: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    async def _fill(self) -> None:
        for gen in [g for g in self._ready if not g.usable]:  # closed by the server while idle
            self._ready.remove(gen)
            self.close_soon(gen)
        for _ in range(self.size - len(self._ready)):
            self._ready.append(await self._open(self.output_format))

    async def warm(self) -> None:
        """Fill the pool; raises the typed error if the server refuses."""
        if self._refill is not None and not self._refill.done():
            await asyncio.shield(self._refill)
        await self._fill()

    def _refill_soon(self) -> None:
        if self.size and (self._refill is None or self._refill.done()):
            # A fresh context: the pool serves every call, so its sockets' log lines must not
            # carry the call_id of whichever call happened to trigger the refill.
            self._refill = asyncio.get_running_loop().create_task(
                self._fill(), context=contextvars.Context()
            )
            self._refill.add_done_callback(_log_refill)

    async def take(self, output_format: str) -> Generation:
        """A ready socket for one turn: a pooled one if there is one, else a new one."""
        if output_format == self.output_format:
            while self._ready:
                gen = self._ready.popleft()
                if gen.usable:
                    gen.in_use = True
                    self._refill_soon()
                    return gen
                self.close_soon(gen)
            self._refill_soon()
        gen = await self._open(output_format)
        gen.in_use = True
        return gen

    def close_soon(self, gen: Generation) -> None:
        """Close without waiting for the server (barge-in, or a socket no longer wanted)."""
        task = asyncio.get_running_loop().create_task(gen.socket.close(drain_timeout_s=0.0))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Close the pooled sockets (process shutdown)."""
        if self._refill is not None:
            self._refill.cancel()
        while self._ready:
            await self._ready.popleft().socket.close(drain_timeout_s=0.0)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _log_refill(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        # The next turn opens its own socket and raises the typed error where it can be handled.
        log.warning("elevenlabs: could not refill the socket pool: %s", task.exception())
