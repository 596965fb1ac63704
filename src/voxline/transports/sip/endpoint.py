"""The UDP SIP socket and the transaction layer above it (RFC 3261 17, 18).

Datagrams in: parsed (a malformed request is answered 400/505 from what could be read, and
nothing else is touched), matched to a transaction (a retransmitted request gets the last
response again), and new requests handed to the UA core. Timers run on the event loop with
`loop.call_at` at each transaction's deadline; the transactions themselves never sleep.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Protocol

from voxline.protocols.sip.dialog import new_branch
from voxline.protocols.sip.headers import Via
from voxline.protocols.sip.message import (
    Request,
    Response,
    SipParseError,
    error_response_to,
    parse_message,
    response_to,
)
from voxline.protocols.sip.transaction import (
    ClientInviteTransaction,
    ClientTransaction,
    ServerInviteTransaction,
    ServerTransaction,
    Timers,
    transaction_key,
)

log = logging.getLogger(__name__)

Addr = tuple[str, int]
AnyTransaction = ServerInviteTransaction | ServerTransaction | ClientInviteTransaction \
    | ClientTransaction


class Core(Protocol):
    """The UA above the transactions (voxline.transports.sip.agent.SipAgent)."""

    def on_request(self, request: Request, tx: ServerTransaction | ServerInviteTransaction,
                   addr: Addr) -> None: ...
    def on_ack(self, ack: Request, addr: Addr) -> None: ...
    def on_cancel(self, cancel: Request, tx: ServerTransaction, addr: Addr) -> None: ...
    def on_timeout(self, tx: AnyTransaction) -> None: ...


class SipEndpoint(asyncio.DatagramProtocol):
    def __init__(self, core: Core, timers: Timers | None = None) -> None:
        self.core = core
        self.timers = timers or Timers()
        self.transport: asyncio.DatagramTransport | None = None
        self.address: Addr = ("0.0.0.0", 0)
        self._txs: dict[tuple[str, str, str], AnyTransaction] = {}
        self._peers: dict[int, Addr] = {}  # id(tx) -> where its messages go
        self._handles: dict[int, asyncio.TimerHandle] = {}
        self._responses: dict[int, asyncio.Queue[Response]] = {}  # client txs: to the TU
        self.counts: Counter[str] = Counter()

    # -- asyncio ---------------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.address = transport.get_extra_info("sockname")[:2]

    def error_received(self, exc: Exception) -> None:
        log.debug("sip socket error: %s", exc)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        if self.transport is not None:
            self.transport.close()

    @property
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def send(self, data: bytes, addr: Addr) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    def via(self) -> str:
        """A Via value for a request we send, with a fresh branch."""
        host, port = self.address
        return f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport"

    # -- in --------------------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        addr = addr[:2]
        if not data.strip(b"\r\n\x00 "):
            return  # a keep-alive (RFC 5626 CRLF ping)
        try:
            message = parse_message(data)
        except SipParseError as err:
            self._malformed(err, addr)
            return
        try:
            if isinstance(message, Request):
                self._request(message, addr)
            else:
                self._response(message)
        except SipParseError as err:  # a header only read on use (a Via deep in a response)
            self._malformed(err, addr)
        except Exception:
            self.counts["errors"] += 1
            log.exception("sip: error handling a %s from %s", type(message).__name__, addr[0])

    def _malformed(self, err: SipParseError, addr: Addr) -> None:
        self.counts["malformed"] += 1
        reply = error_response_to(err)
        level = logging.WARNING if self.counts["malformed"] <= 10 else logging.DEBUG
        log.log(level, "sip: malformed message from %s (%s): %s", addr[0],
                f"answered {err.status}" if reply else "cannot be answered", err.reason)
        if reply is not None:
            self.send(reply.to_bytes(), addr)

    def _request(self, request: Request, addr: Addr) -> None:
        self.counts[request.method] += 1
        _note_received(request, addr)
        key = transaction_key(request)
        if request.method == "ACK":
            tx = self._txs.get(key)
            if isinstance(tx, ServerInviteTransaction) and tx.last_response is not None \
                    and tx.last_response.status >= 300:
                tx.on_ack(self.now)  # the ACK of our non-2xx, inside the transaction
                self._schedule(tx)
            else:
                self.core.on_ack(request, addr)  # the ACK of a 2xx: the dialog's business
            return
        if request.method == "CANCEL":
            key = (*key[:2], "CANCEL")
        existing = self._txs.get(key)
        if existing is not None:  # a retransmission
            self.counts["retransmissions"] += 1
            if isinstance(existing, (ServerInviteTransaction, ServerTransaction)):
                for data in existing.on_retransmission(self.now):
                    self.send(data, self._peers[id(existing)])
            return
        tx: ServerInviteTransaction | ServerTransaction
        if request.method == "INVITE":
            tx = ServerInviteTransaction(request, self.now, self.timers)
        else:
            tx = ServerTransaction(request, self.now, self.timers)
        self._add(tx, addr)
        if request.method == "CANCEL":
            self.core.on_cancel(request, tx, addr)
        else:
            self.core.on_request(request, tx, addr)

    def _response(self, response: Response) -> None:
        tx = self._txs.get(transaction_key(response))
        if not isinstance(tx, (ClientInviteTransaction, ClientTransaction)):
            self.counts["stray_responses"] += 1
            return
        deliver, sends = tx.on_response(response, self.now)
        for data in sends:
            self.send(data, self._peers[id(tx)])
        if deliver:
            self._responses[id(tx)].put_nowait(response)
        self._schedule(tx)

    # -- transactions ----------------------------------------------------------------------------

    def find_invite(self, cancel: Request) -> ServerInviteTransaction | None:
        """The INVITE transaction a CANCEL names (9.2: same branch and sent-by)."""
        key = transaction_key(cancel)
        tx = self._txs.get((*key[:2], "INVITE"))
        return tx if isinstance(tx, ServerInviteTransaction) else None

    def respond(self, tx: ServerTransaction | ServerInviteTransaction, response: Response) -> None:
        if tx.terminated:
            return
        for data in tx.respond(response, self.now):
            self.send(data, self._peers[id(tx)])
        self._schedule(tx)

    def ack_2xx(self, tx: ServerInviteTransaction) -> None:
        tx.on_ack(self.now)
        self._schedule(tx)

    async def request(self, request: Request, addr: Addr) -> asyncio.Queue[Response]:
        """Send a request in a client transaction; its responses arrive on the queue (the TU
        reads until a final one). A timeout puts a synthetic 408 there (8.1.3.1)."""
        tx: ClientInviteTransaction | ClientTransaction
        if request.method == "INVITE":
            tx = ClientInviteTransaction(request, self.now, self.timers)
        else:
            tx = ClientTransaction(request, self.now, self.timers)
        queue: asyncio.Queue[Response] = asyncio.Queue()
        self._responses[id(tx)] = queue
        self._add(tx, addr)
        for data in tx.start():
            self.send(data, addr)
        return queue

    def _add(self, tx: AnyTransaction, addr: Addr) -> None:
        self._txs[tx.key] = tx
        self._peers[id(tx)] = addr
        self._schedule(tx)

    def _schedule(self, tx: AnyTransaction) -> None:
        handle = self._handles.pop(id(tx), None)
        if handle is not None:
            handle.cancel()
        if tx.terminated:
            self._remove(tx)
            return
        deadline = tx.deadline
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._handles[id(tx)] = loop.call_at(deadline, self._fire, tx)

    def _fire(self, tx: AnyTransaction) -> None:
        self._handles.pop(id(tx), None)
        for data in tx.poll(self.now):
            self.send(data, self._peers[id(tx)])
        self._schedule(tx)

    def _remove(self, tx: AnyTransaction) -> None:
        if self._txs.get(tx.key) is tx:
            del self._txs[tx.key]
        self._peers.pop(id(tx), None)
        queue = self._responses.pop(id(tx), None)
        if tx.timed_out:
            self.counts["timeouts"] += 1
            if queue is not None:
                queue.put_nowait(_timeout_response(tx.request))
            self.core.on_timeout(tx)

    @property
    def transactions(self) -> int:
        return len(self._txs)


def _note_received(request: Request, addr: Addr) -> None:
    """18.2.1 and RFC 3581: say in the top Via where the request really came from."""
    via = request.top_via
    params = dict(via.params)
    if via.host != addr[0]:
        params["received"] = addr[0]
    if "rport" in params:
        params["rport"] = str(addr[1])
    if params != via.params:
        request.headers.replace_first("Via", str(Via(via.transport, via.host, via.port, params)))


def _timeout_response(request: Request) -> Response:
    return response_to(request, 408)
