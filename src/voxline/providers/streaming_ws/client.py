"""``StreamingSocket``: one supervised connection that outlives network drops.

The supervisor (rule 3) runs the sender, the receiver and the keepalive timer of the current
connection in one TaskGroup, so that when any of them sees the connection end, all of them stop
together and the supervisor alone decides between reconnecting and giving up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidURI
from websockets.uri import parse_uri

from voxline.errors import ConfigError, ProviderConnectError, ProviderError
from voxline.providers.streaming_ws.backoff import Backoff, with_retries
from voxline.providers.streaming_ws.handshake import open_connection
from voxline.providers.streaming_ws.send_queue import Message, SendQueue

log = logging.getLogger(__name__)

# A connection that lasted this long was a real one: a later drop starts a fresh retry budget.
STABLE_AFTER_S = 10.0


class _ConnectionLost(Exception):
    """Internal: the current connection ended; the supervisor decides what comes next."""


class StreamingSocket:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        headers: Mapping[str, str] | None = None,
        on_message: Callable[[str | bytes], None],
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
        on_give_up: Callable[[BaseException], None] | None = None,
        keepalive: Callable[[], str | bytes | None] | None = None,
        keepalive_interval_s: float = 5.0,
        max_queue: int = 500,
        connect_timeout_s: float = 5.0,
        max_reconnects: int = 5,
        backoff_base_s: float = 0.1,
        backoff_max_s: float = 2.0,
        reconnect: bool = True,
    ) -> None:
        try:
            parse_uri(url)
        except InvalidURI as err:
            raise ConfigError(f"{name}: {url!r} is not a ws:// or wss:// URL ({err})") from None
        if max_queue < 1:
            raise ConfigError(f"{name}: max_queue must be at least 1, got {max_queue}")
        self.url, self.name = url, name
        self._headers = dict(headers or {})
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._on_give_up = on_give_up
        self._keepalive = keepalive
        self._keepalive_interval_s = keepalive_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._backoff = Backoff(backoff_base_s, backoff_max_s, max_reconnects)
        self._reconnect = reconnect

        self._queue = SendQueue(name, max_queue)
        self._ws: ClientConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._close_task: asyncio.Future[None] | None = None
        self._closing = False
        self._last_send = time.monotonic()
        self.reconnections = 0
        self.sent_messages = 0
        self.error: BaseException | None = None  # why the socket gave up, if it did

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def dropped(self) -> int:
        """Messages that were never sent: pushed out of a full queue, or sent after the end."""
        return self._queue.dropped

    # -- public -----------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._supervisor is not None or self._closing:
            raise RuntimeError(f"{self.name}: connect() may be called once, before close()")
        try:
            ws = await self._open_with_retries()
        except ProviderError as err:
            self.error = err
            raise
        self._ws = ws
        self._supervisor = asyncio.create_task(self._supervise(ws), name=f"{self.name}-socket")

    def send(self, message: Message) -> None:
        if self._closing or self.error is not None:
            self._queue.dropped += 1  # closed or given up: nothing will ever send it
            return
        self._queue.put(message)

    def discard_queued(self) -> int:
        """Drop every queued message (a vendor replaying its own state after a reconnect)."""
        return self._queue.discard()

    async def close(self, final: Message | None = None, drain_timeout_s: float = 2.0) -> None:
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._close(final, drain_timeout_s))
        await asyncio.shield(self._close_task)

    # -- one connection: sender, receiver, keepalive ----------------------------------------

    async def _sender(self, ws: ClientConnection) -> None:
        while True:
            message = await self._queue.get()
            try:
                await ws.send(message)
            except ConnectionClosed:
                self._queue.put_back(message)  # rule 5
                raise _ConnectionLost from None
            self.sent_messages += 1
            self._last_send = time.monotonic()

    async def _keepalive_timer(self) -> None:
        assert self._keepalive is not None
        while True:
            # Only a quiet connection needs a keepalive: audio going out keeps it alive.
            wait = self._last_send + self._keepalive_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            message = self._keepalive()
            self._last_send = time.monotonic()
            if message is not None:
                self._queue.put(message)

    async def _receiver(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                try:
                    self._on_message(message)
                except Exception:  # rule 6: a handler bug must not drop the call
                    log.exception("%s: message handler failed; the connection goes on", self.name)
        except ConnectionClosed:
            pass
        raise _ConnectionLost

    async def _run(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._last_send = time.monotonic()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._receiver(ws))
                tg.create_task(self._sender(ws))
                if self._keepalive is not None:
                    tg.create_task(self._keepalive_timer())
        except* _ConnectionLost:
            pass
        finally:
            self._ws = None

    # -- across connections: reconnect or give up -------------------------------------------

    async def _open_with_retries(self) -> ClientConnection:
        async def open_once() -> ClientConnection:
            return await open_connection(
                self.url,
                name=self.name,
                headers=self._headers,
                connect_timeout_s=self._connect_timeout_s,
            )

        return await with_retries(
            open_once, self._backoff, name=self.name, stopping=lambda: self._closing
        )

    async def _after_reconnect(self) -> None:
        self._queue.begin_replay()
        try:
            if self._on_reconnect is not None:
                await self._on_reconnect()
        except Exception:  # the vendor's replay failing must not kill the socket
            log.exception("%s: on_reconnect failed; going on without its replay", self.name)
        finally:
            self._queue.end_replay()

    def _give_up(self, err: BaseException, expected: bool = False) -> None:
        self.error = err
        # A one-shot socket (reconnect=False) closed cleanly by the server is its normal end.
        log.log(logging.DEBUG if expected else logging.WARNING,
                "%s: connection lost for good: %s", self.name, err)
        if self._on_give_up is not None:
            try:
                self._on_give_up(err)
            except Exception:
                log.exception("%s: on_give_up failed", self.name)

    async def _supervise(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        quick_losses = 0  # connections in a row that dropped before they were stable
        try:
            while True:
                opened_at = loop.time()
                await self._run(ws)
                if self._closing:
                    return
                if not self._reconnect:
                    lost = ProviderConnectError(
                        f"{self.name}: the server closed the connection ({ws.close_code})"
                    )
                    self._give_up(lost, expected=ws.close_code in (1000, 1001))
                    return
                # A server that accepts and then drops every connection would otherwise get
                # an immediate reconnect, and a full replay, forever: short-lived connections
                # spend the same retry budget as failed handshakes, and wait as long.
                if loop.time() - opened_at < STABLE_AFTER_S:
                    quick_losses += 1
                else:
                    quick_losses = 0
                if quick_losses > self._backoff.max_retries:
                    self._give_up(ProviderConnectError(
                        f"{self.name}: the connection dropped {quick_losses} times in a row "
                        f"within {STABLE_AFTER_S:g} s of opening; giving up"))
                    return
                if quick_losses > 1:
                    lost = ProviderConnectError(f"{self.name}: connection lost again")
                    await asyncio.sleep(self._backoff.delay(quick_losses - 2, lost))
                log.warning("%s: connection lost; reconnecting", self.name)
                try:
                    ws = await self._open_with_retries()
                except ProviderError as err:
                    self._give_up(err)
                    return
                if self._closing:
                    await ws.close()
                    return
                self.reconnections += 1
                await self._after_reconnect()
        except Exception as err:  # a bug here must still reach on_give_up
            log.exception("%s: socket supervisor failed", self.name)
            self._give_up(err)

    # -- clean close (rule 7) ---------------------------------------------------------------

    async def _close(self, final: Message | None, drain_timeout_s: float) -> None:
        self._closing = True
        supervisor = self._supervisor
        if supervisor is None or supervisor.done():
            self._queue.discard()
            return
        if final is not None:
            self._queue.put(final)
        deadline = asyncio.get_running_loop().time() + drain_timeout_s
        idle = asyncio.ensure_future(self._queue.drained())
        try:
            # Everything queued goes out (or the connection ends first).
            await asyncio.wait({idle, supervisor}, timeout=drain_timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
            if final is not None and idle.done():
                # The server answers the final message, then closes (rule 7).
                remaining = max(0.0, deadline - asyncio.get_running_loop().time())
                await asyncio.wait({supervisor}, timeout=remaining)
        finally:
            idle.cancel()
        ws = self._ws
        if ws is not None:
            await ws.close()
        supervisor.cancel()
        try:
            await supervisor
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise
        self._queue.discard()
