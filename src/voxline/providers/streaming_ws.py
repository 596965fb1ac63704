"""The one streaming-WebSocket client every vendor shares (Deepgram, ElevenLabs, ...).

Connect, keepalive, reconnect with backoff and jitter, a bounded send queue and a receive loop
are written here once; a vendor module only builds and parses its messages::

    socket = StreamingSocket(url, name="deepgram", headers={"Authorization": "Token KEY"},
                             on_message=handle, keepalive=lambda: '{"type": "KeepAlive"}')
    await socket.connect()          # ProviderConnectError / RateLimited / ProviderServerError
    socket.send(frame)              # never blocks; when full, the oldest message is dropped
    await socket.close(final='{"type": "CloseStream"}')

Rules:

1. Only ``url`` is ever contacted: no proxy from the environment, no redirect is followed
   (a 3xx answer is a ProviderRequestError).
2. A handshake refused with HTTP 401/403 is never retried (the key is wrong); other 4xx are not
   retried either (the request is wrong). 429, 5xx, timeouts and network errors are retried
   with exponential backoff and full jitter, at most ``max_reconnects`` times per outage.
3. One supervisor task per socket. Per connection it runs a sender, a receiver and the
   keepalive timer in one TaskGroup; when the connection ends for any reason other than
   ``close()``, it reconnects (if ``reconnect``) or gives up (``on_give_up``).
4. After a reconnect, ``on_reconnect`` runs before the sender resumes; what it sends goes out
   ahead of the messages queued during the outage (which it may drop with ``discard_queued``).
5. A message is removed from the queue when it is handed to the connection; one that fails
   to go out is put back at the head, so it is sent at least once.
6. An exception in ``on_message`` is logged and the connection goes on.
7. ``close()`` sends what is queued, then ``final``; if there was a ``final`` it waits for the
   server to close (it may answer first), then closes; all within ``drain_timeout_s``.
8. Message contents are never logged (they may be a caller's voice or words).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from websockets.asyncio.client import ClientConnection, connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.uri import parse_uri

from voxline.errors import (
    ConfigError,
    ProviderConnectError,
    ProviderError,
    ProviderRequestError,
    ProviderServerError,
    RateLimited,
)

log = logging.getLogger(__name__)

Message = str | bytes
PING_INTERVAL_S = 5.0  # WebSocket ping; a dead peer is noticed within interval + timeout
PING_TIMEOUT_S = 10.0


class _NoRedirects(ws_connect):
    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc  # rule 1: a 3xx is an error here, never a new host to contact


class _AuthRefused(ProviderConnectError):
    """HTTP 401/403 at the handshake: retrying with the same credentials cannot help."""


class _ConnectionLost(Exception):
    """Internal: the current connection ended; the supervisor decides what comes next."""


def classify_handshake(name: str, status: int, retry_after: str | None = None) -> ProviderError:
    """The typed error for a refused WebSocket handshake (HTTP status instead of 101)."""
    if status in (401, 403):
        return _AuthRefused(
            f"{name}: the server refused the credentials (HTTP {status}); check the API key"
        )
    if status == 429:
        try:
            seconds = float(retry_after) if retry_after is not None else None
        except ValueError:
            seconds = None
        return RateLimited(f"{name}: rate limited at connect (HTTP 429); retry later", seconds)
    if status >= 500:
        return ProviderServerError(f"{name}: server error at connect (HTTP {status})", status)
    return ProviderRequestError(
        f"{name}: the server rejected the request (HTTP {status}); check the model and options",
        status,
    )


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
        self._max_queue = max_queue
        self._connect_timeout_s = connect_timeout_s
        self._max_reconnects = max_reconnects
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._reconnect = reconnect

        self._queue: deque[Message] = deque()
        self._front: list[Message] | None = None  # sends made inside on_reconnect (rule 4)
        self._wakeup = asyncio.Event()  # the queue got a message
        self._idle = asyncio.Event()  # the queue is empty and nothing is being sent
        self._idle.set()
        self._ws: ClientConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._close_task: asyncio.Future[None] | None = None
        self._closing = False
        self._last_send = time.monotonic()
        self.reconnections = 0
        self.dropped = 0
        self.sent_messages = 0
        self.error: BaseException | None = None  # why the socket gave up, if it did

    @property
    def connected(self) -> bool:
        return self._ws is not None

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
            self.dropped += 1  # closed or given up: nothing will ever send it
            return
        self._enqueue(message)

    def discard_queued(self) -> int:
        """Drop every queued message (a vendor replaying its own state after a reconnect)."""
        count = len(self._queue)
        self._queue.clear()
        self._idle.set()
        return count

    async def close(self, final: Message | None = None, drain_timeout_s: float = 2.0) -> None:
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._close(final, drain_timeout_s))
        await asyncio.shield(self._close_task)

    # -- sending ----------------------------------------------------------------------------

    def _enqueue(self, message: Message) -> None:
        if self._front is not None:
            self._front.append(message)
            return
        if len(self._queue) >= self._max_queue:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning(
                    "%s: send queue full; dropped %d oldest messages", self.name, self.dropped
                )
        self._queue.append(message)
        self._idle.clear()
        self._wakeup.set()

    async def _sender(self, ws: ClientConnection) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            message = self._queue.popleft()
            try:
                await ws.send(message)
            except ConnectionClosed:
                self._queue.appendleft(message)  # rule 5
                raise _ConnectionLost from None
            self.sent_messages += 1
            self._last_send = time.monotonic()

    async def _keepalive_timer(self) -> None:
        assert self._keepalive is not None
        while True:
            wait = self._last_send + self._keepalive_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            message = self._keepalive()
            self._last_send = time.monotonic()
            if message is not None:
                self._enqueue(message)

    # -- receiving --------------------------------------------------------------------------

    async def _receiver(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                try:
                    self._on_message(message)
                except Exception:  # noqa: BLE001 - rule 6: a handler bug must not drop the call
                    log.exception("%s: message handler failed; the connection goes on", self.name)
        except ConnectionClosed:
            pass
        raise _ConnectionLost

    # -- connection lifecycle ---------------------------------------------------------------

    async def _open(self) -> ClientConnection:
        try:
            return await _NoRedirects(
                self.url,
                additional_headers=self._headers,
                open_timeout=self._connect_timeout_s,
                ping_interval=PING_INTERVAL_S,
                ping_timeout=PING_TIMEOUT_S,
                close_timeout=1.0,
                proxy=None,  # rule 1: never route through a proxy taken from the environment
                compression=None,  # audio does not compress; save the CPU
                user_agent_header="voxline",
            )
        except InvalidStatus as err:
            response = err.response
            raise classify_handshake(
                self.name, response.status_code, response.headers.get("Retry-After")
            ) from None
        except TimeoutError as err:
            raise ProviderConnectError(
                f"{self.name}: no WebSocket handshake within {self._connect_timeout_s} s; "
                "check the network or raise connect_timeout_s"
            ) from err
        except (OSError, InvalidHandshake) as err:
            raise ProviderConnectError(
                f"{self.name}: cannot connect ({type(err).__name__}: {err}); "
                "check the URL and the network"
            ) from err

    def _backoff(self, attempt: int, err: ProviderError) -> float:
        cap = min(self._backoff_max_s, self._backoff_base_s * 2**attempt)
        delay = random.uniform(0.0, cap)  # full jitter
        if isinstance(err, RateLimited) and err.retry_after_s is not None:
            delay = max(delay, min(err.retry_after_s, self._backoff_max_s))
        return delay

    async def _open_with_retries(self) -> ClientConnection:
        attempt = 0
        while True:
            try:
                return await self._open()
            except (_AuthRefused, ProviderRequestError):
                raise  # rule 2
            except ProviderError as err:
                if attempt >= self._max_reconnects or self._closing:
                    raise
                delay = self._backoff(attempt, err)
                attempt += 1
                log.info(
                    "%s: connect failed (%s); retry %d in %.2f s", self.name, err, attempt, delay
                )
                await asyncio.sleep(delay)

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

    async def _after_reconnect(self) -> None:
        self._front = []
        try:
            if self._on_reconnect is not None:
                await self._on_reconnect()
        except Exception:  # noqa: BLE001 - the vendor's replay failing must not kill the socket
            log.exception("%s: on_reconnect failed; going on without its replay", self.name)
        finally:
            front, self._front = self._front, None
            self._queue.extendleft(reversed(front))
            if self._queue:
                self._idle.clear()
                self._wakeup.set()

    def _give_up(self, err: BaseException, expected: bool = False) -> None:
        self.error = err
        # A one-shot socket (reconnect=False) closed cleanly by the server is its normal end.
        log.log(logging.DEBUG if expected else logging.WARNING,
                "%s: connection lost for good: %s", self.name, err)
        if self._on_give_up is not None:
            try:
                self._on_give_up(err)
            except Exception:  # noqa: BLE001
                log.exception("%s: on_give_up failed", self.name)

    async def _supervise(self, ws: ClientConnection) -> None:
        try:
            while True:
                await self._run(ws)
                if self._closing:
                    return
                if not self._reconnect:
                    lost = ProviderConnectError(
                        f"{self.name}: the server closed the connection ({ws.close_code})"
                    )
                    self._give_up(lost, expected=ws.close_code in (1000, 1001))
                    return
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
        except Exception as err:  # noqa: BLE001 - a bug here must still reach on_give_up
            log.exception("%s: socket supervisor failed", self.name)
            self._give_up(err)

    async def _close(self, final: Message | None, drain_timeout_s: float) -> None:
        self._closing = True
        supervisor = self._supervisor
        if supervisor is None or supervisor.done():
            self._queue.clear()
            return
        if final is not None:
            self._enqueue(final)
        deadline = asyncio.get_running_loop().time() + drain_timeout_s
        idle = asyncio.ensure_future(self._idle.wait())
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
        self._queue.clear()
