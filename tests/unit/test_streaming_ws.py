"""The shared streaming WebSocket client against small websockets servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from voxline.errors import (
    ProviderConnectError,
    ProviderRequestError,
    ProviderServerError,
    RateLimited,
)
from voxline.providers.streaming_ws import StreamingSocket


class Peer:
    """A loopback server that records what each connection got, and misbehaves on request."""

    def __init__(
        self,
        *,
        echo: bool = True,
        refuse: Callable[[int], int | None] = lambda index: None,
        drop_after: dict[int, int] | None = None,
        close_after: str | None = None,
        reconnect_delay_s: float = 0.0,
    ) -> None:
        self.echo, self.refuse, self.drop_after = echo, refuse, drop_after or {}
        self.close_after = close_after  # close cleanly after answering this message
        self.reconnect_delay_s = reconnect_delay_s  # the handshakes after the first are slow
        self.attempts = 0
        self.received: list[list[str | bytes]] = []  # per accepted connection
        self.headers: list[str | None] = []
        self.close_codes: list[int | None] = []
        self.url = ""

    async def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        index = self.attempts
        self.attempts += 1
        if index > 0:
            await asyncio.sleep(self.reconnect_delay_s)
        status = self.refuse(index)
        if status is None:
            self.headers.append(request.headers.get("Authorization"))
            return None
        response = connection.respond(HTTPStatus(status), "no\n")
        if status == 429:
            response.headers["Retry-After"] = "0.01"
        if status == 302:
            response.headers["Location"] = self.url  # following it would be a second attempt
        return response

    async def _handler(self, ws: ServerConnection) -> None:
        index = len(self.received)
        got: list[str | bytes] = []
        self.received.append(got)
        async for message in ws:
            got.append(message)
            if self.drop_after.get(index) == len(got):
                ws.transport.abort()  # no close frame: an abrupt network drop
                return
            if self.echo:
                await ws.send(message)
            if message == self.close_after:
                await ws.send("bye")
                await ws.close()
        self.close_codes.append(ws.close_code)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Peer]:
        async with serve(self._handler, "127.0.0.1", 0, process_request=self._check) as server:
            port = server.sockets[0].getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/stream"
            yield self


async def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def socket_for(peer: Peer, got: list[str | bytes], **kwargs: object) -> StreamingSocket:
    options: dict[str, object] = {"backoff_base_s": 0.01, "backoff_max_s": 0.05}
    options.update(kwargs)
    return StreamingSocket(
        peer.url, name="test", on_message=got.append, **options  # type: ignore[arg-type]
    )


async def test_send_and_receive_text_and_bytes_with_headers() -> None:
    async with Peer().running() as peer:
        got: list[str | bytes] = []
        sock = socket_for(peer, got, headers={"Authorization": "Token k"})
        await sock.connect()
        assert sock.connected
        sock.send("hello")
        sock.send(b"\x00\x01")
        await wait_for(lambda: len(got) == 2)
        assert got == ["hello", b"\x00\x01"]
        assert peer.headers == ["Token k"]
        assert sock.sent_messages == 2
        await sock.close()


async def test_bounded_queue_drops_the_oldest() -> None:
    async with Peer().running() as peer:
        got: list[str | bytes] = []
        sock = socket_for(peer, got, max_queue=3)
        for i in range(5):  # queued before connecting: nothing drains them yet
            sock.send(f"m{i}")
        assert sock.dropped == 2
        await sock.connect()
        await wait_for(lambda: len(got) == 3)
        assert got == ["m2", "m3", "m4"]
        await sock.close()


async def test_keepalive_only_when_idle() -> None:
    async with Peer(echo=False).running() as peer:
        sock = socket_for(peer, [], keepalive=lambda: "KA", keepalive_interval_s=0.1)
        await sock.connect()
        for i in range(8):  # busy: a message every 50 ms, so no keepalive is due
            sock.send(f"m{i}")
            await asyncio.sleep(0.05)
        assert "KA" not in peer.received[0]
        await asyncio.sleep(0.35)  # idle
        assert peer.received[0].count("KA") >= 2
        await sock.close()


async def test_reconnects_after_a_drop_and_replays_first() -> None:
    async with Peer(drop_after={0: 2}, reconnect_delay_s=0.3).running() as peer:
        got: list[str | bytes] = []
        reconnected = asyncio.Event()

        async def replay() -> None:
            sock.send("replay")  # goes out ahead of what was queued meanwhile
            reconnected.set()

        sock = socket_for(peer, got, on_reconnect=replay)
        await sock.connect()
        sock.send("a")
        sock.send("b")  # the server cuts the connection on this one
        await wait_for(lambda: not sock.connected)
        sock.send("c")
        await asyncio.wait_for(reconnected.wait(), 3)
        await wait_for(lambda: "c" in peer.received[-1])
        assert sock.reconnections == 1
        assert len(peer.received) == 2
        assert peer.received[1][0] == "replay"
        assert peer.received[1].index("replay") < peer.received[1].index("c")
        await sock.close()


async def test_auth_refusal_raises_without_retrying() -> None:
    async with Peer(refuse=lambda i: 401).running() as peer:
        sock = socket_for(peer, [], max_reconnects=5)
        with pytest.raises(ProviderConnectError, match="401"):
            await sock.connect()
        assert peer.attempts == 1
        assert not sock.connected


@pytest.mark.parametrize(
    ("status", "error", "attempts"),
    [
        (429, RateLimited, 3),
        (503, ProviderServerError, 3),
        (400, ProviderRequestError, 1),
        (302, ProviderRequestError, 1),  # a redirect is never followed
    ],
)
async def test_handshake_status_is_classified_and_retried_when_worth_it(
    status: int, error: type[Exception], attempts: int
) -> None:
    async with Peer(refuse=lambda i: status).running() as peer:
        sock = socket_for(peer, [], max_reconnects=2)
        with pytest.raises(error) as info:
            await sock.connect()
        assert peer.attempts == attempts
        if status == 429:
            assert info.value.retry_after_s == pytest.approx(0.01)  # type: ignore[attr-defined]


async def test_a_transient_server_error_is_retried_then_connects() -> None:
    async with Peer(refuse=lambda i: 500 if i == 0 else None).running() as peer:
        got: list[str | bytes] = []
        sock = socket_for(peer, got)
        await sock.connect()
        sock.send("x")
        await wait_for(lambda: got == ["x"])
        assert peer.attempts == 2 and sock.reconnections == 0
        await sock.close()


async def test_gives_up_when_the_reconnect_is_refused() -> None:
    async with Peer(refuse=lambda i: 401 if i > 0 else None, drop_after={0: 1}).running() as peer:
        gave_up: list[BaseException] = []
        sock = socket_for(peer, [], on_give_up=gave_up.append)
        await sock.connect()
        sock.send("x")
        await wait_for(lambda: bool(gave_up))
        assert isinstance(gave_up[0], ProviderConnectError)
        assert peer.attempts == 2 and sock.reconnections == 0 and not sock.connected
        sock.send("late")
        assert sock.dropped == 1
        await sock.close()  # closing a socket that gave up is fine


async def test_no_reconnect_when_disabled() -> None:
    async with Peer(drop_after={0: 1}).running() as peer:
        gave_up: list[BaseException] = []
        sock = socket_for(peer, [], reconnect=False, on_give_up=gave_up.append)
        await sock.connect()
        sock.send("x")
        await wait_for(lambda: bool(gave_up))
        assert peer.attempts == 1


async def test_a_failing_message_handler_does_not_kill_the_socket() -> None:
    async with Peer().running() as peer:
        got: list[str | bytes] = []

        def handle(message: str | bytes) -> None:
            if message == "boom":
                raise ValueError("handler bug")
            got.append(message)

        sock = StreamingSocket(peer.url, name="test", on_message=handle)
        await sock.connect()
        sock.send("boom")
        sock.send("ok")
        await wait_for(lambda: got == ["ok"])
        assert sock.connected and sock.reconnections == 0
        await sock.close()


async def test_close_drains_sends_final_waits_for_the_answer_and_is_idempotent() -> None:
    async with Peer(close_after="FINAL").running() as peer:
        got: list[str | bytes] = []
        sock = socket_for(peer, got)
        await sock.connect()
        for i in range(20):
            sock.send(f"m{i}")
        await asyncio.gather(sock.close(final="FINAL"), sock.close(final="FINAL"))
        await sock.close()
        assert peer.received[0] == [f"m{i}" for i in range(20)] + ["FINAL"]
        assert got[-1] == "bye"  # the server's answer to the final arrived before close returned
        assert not sock.connected
        await wait_for(lambda: peer.close_codes == [1000])
        sock.send("after")
        assert sock.dropped == 1


async def test_close_without_final_closes_cleanly() -> None:
    async with Peer().running() as peer:
        sock = socket_for(peer, [])
        await sock.connect()
        sock.send("x")
        await sock.close()
        await wait_for(lambda: peer.close_codes == [1000])
        assert peer.received == [["x"]]


async def test_unreachable_port_raises_connect_error_after_retries() -> None:
    async with Peer().running() as peer:
        url = peer.url
    sock = StreamingSocket(url, name="test", on_message=print, max_reconnects=1,
                           backoff_base_s=0.01, connect_timeout_s=1.0)
    with pytest.raises(ProviderConnectError, match="cannot connect"):
        await sock.connect()


async def test_a_server_that_drops_every_connection_soon_spends_the_retry_budget() -> None:
    """Accepting and then dropping each connection must not buy an endless reconnect (and
    replay) loop: such short-lived connections count against max_reconnects."""
    drops = {index: 1 for index in range(100)}  # every connection dies on its first message
    async with Peer(drop_after=drops).running() as peer:
        gave_up: list[BaseException] = []
        sock = socket_for(peer, [], max_reconnects=3, on_give_up=gave_up.append,
                          on_reconnect=lambda: _resend(sock))
        await sock.connect()
        sock.send("hello")
        await wait_for(lambda: bool(gave_up))
        assert "dropped 4 times in a row" in str(gave_up[0])
        assert len(peer.received) == 4  # the first connection and three reconnects
        assert sock.reconnections == 3
        await sock.close()


async def _resend(sock: StreamingSocket) -> None:
    sock.send("hello")  # the vendor's replay: what the server had not acknowledged
