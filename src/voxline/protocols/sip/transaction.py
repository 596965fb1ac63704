"""SIP transactions (RFC 3261 section 17, with the RFC 6026 Accepted states), without I/O.

The caller owns the clock: every method takes `now` (seconds, any monotonic origin), returns the
bytes to (re)send, and `deadline` says when `poll(now)` must next be called. Nothing here sleeps.

Invariants:
 1. A server transaction sends only what its TU gave it (`respond`), repeated on retransmission
    of the request or on its timers; it never invents a response.
 2. Unreliable transports (UDP) retransmit: a non-2xx final to an INVITE on Timer G (T1, doubling,
    capped at T2) until the ACK or Timer H (64*T1); a 2xx to an INVITE likewise until the ACK
    (13.3.1.4, RFC 6026 Accepted), giving up at 64*T1 with `timed_out` set (the UAS then ends
    the dialog with a BYE). Reliable transports set every retransmission timer to nothing.
 3. After a final response a server transaction lingers to absorb retransmissions: Timer I (T4)
    after the ACK of a non-2xx, Timer J (64*T1) for non-INVITE; reliable: zero.
 4. A client transaction retransmits its request on Timer A (INVITE, doubling, no cap) or E
    (non-INVITE, doubling, capped at T2), gives up on Timer B/F (64*T1) with `timed_out` set, and
    lingers on Timer D (32 s) or K (T4) to absorb retransmitted finals.
 5. `state` only moves forward; TERMINATED is final and its deadline is None.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from voxline.protocols.sip.message import Headers, Request, Response


@dataclass(frozen=True)
class Timers:
    t1: float = 0.5  # RTT estimate
    t2: float = 4.0  # longest retransmit interval for non-INVITE requests and INVITE responses
    t4: float = 5.0  # longest time a message stays in the network
    reliable: bool = False  # TCP/TLS: no retransmissions, no lingering

    @property
    def timeout(self) -> float:  # Timers B, F, H, L, M: 64*T1
        return 64 * self.t1


class State(enum.Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


def transaction_key(message: Request | Response) -> tuple[str, str, str]:
    """17.2.3: branch, sent-by and method (ACK and CANCEL matched to the INVITE by the caller).
    Without the magic cookie (RFC 2543 peers) the Call-ID and CSeq number stand in."""
    via = message.top_via
    method = message.cseq[1]
    method = "INVITE" if method == "ACK" else method
    branch = via.branch or ""
    if branch.startswith("z9hG4bK"):
        return branch, via.sent_by, method
    return f"{message.call_id}|{message.cseq[0]}|{branch}", via.sent_by, method


class _Retransmit:
    """One retransmission schedule: fires at start+interval, then doubles (capped)."""

    def __init__(self, now: float, interval: float, cap: float | None) -> None:
        self.interval = interval
        self.cap = cap
        self.at = now + interval

    def fire(self) -> None:
        self.interval *= 2
        if self.cap is not None:
            self.interval = min(self.interval, self.cap)
        self.at += self.interval


class _Transaction:
    def __init__(self, request: Request, timers: Timers) -> None:
        self.request = request
        self.timers = timers
        self.key = transaction_key(request)
        self.state = State.TRYING
        self.timed_out = False
        self.last_response: Response | None = None
        self._retransmit: _Retransmit | None = None
        self._end_at: float | None = None  # the timer that ends the current state

    @property
    def deadline(self) -> float | None:
        if self.state is State.TERMINATED:
            return None
        retransmit_at = self._retransmit.at if self._retransmit is not None else None
        times = [t for t in (self._end_at, retransmit_at) if t is not None]
        return min(times) if times else None

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def _linger(self, now: float, seconds: float) -> None:
        self._retransmit = None
        if self.timers.reliable or seconds <= 0:
            self._terminate()
        else:
            self._end_at = now + seconds

    def _terminate(self, timed_out: bool = False) -> None:
        self.state = State.TERMINATED
        self.timed_out = self.timed_out or timed_out
        self._retransmit = None
        self._end_at = None

    def _retransmit_due(self, now: float, message: bytes) -> list[bytes]:
        sends = []
        while self._retransmit is not None and self._retransmit.at <= now:
            self._retransmit.fire()
            sends = [message]  # after a stall, one copy, not a burst
        return sends


class ServerInviteTransaction(_Transaction):
    def __init__(self, request: Request, now: float, timers: Timers = Timers()) -> None:
        super().__init__(request, timers)
        self.state = State.PROCEEDING  # 17.2.1: the TU sends 100 Trying at once
        self.acknowledged = False

    def respond(self, response: Response, now: float) -> list[bytes]:
        if self.state is not State.PROCEEDING:
            raise RuntimeError(f"INVITE transaction in {self.state.value} takes no response")
        self.last_response = response
        data = response.to_bytes()
        if response.status < 200:
            return [data]
        self.state = State.ACCEPTED if response.status < 300 else State.COMPLETED
        if not self.timers.reliable:  # Timer G, and the 2xx schedule of 13.3.1.4
            self._retransmit = _Retransmit(now, self.timers.t1, self.timers.t2)
        self._end_at = now + self.timers.timeout  # Timer H (L for the Accepted state)
        return [data]

    def on_retransmission(self, now: float) -> list[bytes]:
        """The INVITE came again: repeat the last response (a 2xx has its own schedule)."""
        if self.state in (State.PROCEEDING, State.COMPLETED) and self.last_response:
            return [self.last_response.to_bytes()]
        return []

    def on_ack(self, now: float) -> None:
        """An ACK: for a non-2xx it is in this transaction; for a 2xx the dialog found it."""
        if self.state is State.COMPLETED:
            self.state = State.CONFIRMED
            self.acknowledged = True
            self._linger(now, self.timers.t4)  # Timer I
        elif self.state is State.ACCEPTED:
            self.acknowledged = True
            self._retransmit = None  # the 2xx stops; absorb stray INVITE copies until Timer L
            if self.timers.reliable:
                self._terminate()

    def poll(self, now: float) -> list[bytes]:
        if self._end_at is not None and now >= self._end_at:
            # Timer H in Completed, or L in Accepted without an ACK: the peer is gone.
            self._terminate(timed_out=not self.acknowledged and self.state is not State.CONFIRMED)
            return []
        if self.last_response is None:
            return []
        return self._retransmit_due(now, self.last_response.to_bytes())


class ServerTransaction(_Transaction):
    """Every request but INVITE and ACK (17.2.2)."""

    def __init__(self, request: Request, now: float, timers: Timers = Timers()) -> None:
        super().__init__(request, timers)

    def respond(self, response: Response, now: float) -> list[bytes]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            raise RuntimeError(f"{self.request.method} transaction in {self.state.value} "
                               "takes no response")
        self.last_response = response
        if response.status < 200:
            self.state = State.PROCEEDING
        else:
            self.state = State.COMPLETED
            self._linger(now, self.timers.timeout)  # Timer J
        return [response.to_bytes()]

    def on_retransmission(self, now: float) -> list[bytes]:
        if self.last_response is not None:
            return [self.last_response.to_bytes()]
        return []

    def poll(self, now: float) -> list[bytes]:
        if self._end_at is not None and now >= self._end_at:
            self._terminate()
        return []


class ClientInviteTransaction(_Transaction):
    """An INVITE we send (17.1.1). `on_response` says whether the TU should see it."""

    def __init__(self, request: Request, now: float, timers: Timers = Timers()) -> None:
        super().__init__(request, timers)
        self.state = State.CALLING
        if not timers.reliable:
            self._retransmit = _Retransmit(now, timers.t1, None)  # Timer A: no cap
        self._end_at = now + timers.timeout  # Timer B
        self._ack: bytes | None = None

    def start(self) -> list[bytes]:
        return [self.request.to_bytes()]

    def on_response(self, response: Response, now: float) -> tuple[bool, list[bytes]]:
        if self.state in (State.CALLING, State.PROCEEDING):
            if response.status < 200:
                self.state = State.PROCEEDING
                self._retransmit = None
                self._end_at = None  # the TU decides how long it lets a call ring
                return True, []
            if response.status < 300:
                self.state = State.ACCEPTED  # RFC 6026: later 2xx copies go to the TU too
                self._retransmit = None
                self._end_at = now + self.timers.timeout  # Timer M
                return True, []
            self._ack = non_2xx_ack(self.request, response).to_bytes()
            self.state = State.COMPLETED
            self._linger(now, 0 if self.timers.reliable else 32.0)  # Timer D
            return True, [self._ack]
        if self.state is State.ACCEPTED and 200 <= response.status < 300:
            return True, []
        if self.state is State.COMPLETED and response.status >= 300 and self._ack:
            return False, [self._ack]  # a retransmitted final: ACK it again, quietly
        return False, []

    def poll(self, now: float) -> list[bytes]:
        if self._end_at is not None and now >= self._end_at:
            self._terminate(timed_out=self.state is State.CALLING)
            return []
        if self.state is State.CALLING:
            return self._retransmit_due(now, self.request.to_bytes())
        return []


class ClientTransaction(_Transaction):
    """A non-INVITE request we send (17.1.2): BYE, CANCEL, OPTIONS."""

    def __init__(self, request: Request, now: float, timers: Timers = Timers()) -> None:
        super().__init__(request, timers)
        if not timers.reliable:
            self._retransmit = _Retransmit(now, timers.t1, timers.t2)  # Timer E
        self._end_at = now + timers.timeout  # Timer F

    def start(self) -> list[bytes]:
        return [self.request.to_bytes()]

    def on_response(self, response: Response, now: float) -> tuple[bool, list[bytes]]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return False, []
        self.last_response = response
        if response.status < 200:
            self.state = State.PROCEEDING
            if self._retransmit is not None:  # 17.1.2.2: keep retransmitting at T2
                self._retransmit.interval = self.timers.t2
        else:
            self.state = State.COMPLETED
            self._linger(now, self.timers.t4)  # Timer K
        return True, []

    def poll(self, now: float) -> list[bytes]:
        if self._end_at is not None and now >= self._end_at:
            timed_out = self.state in (State.TRYING, State.PROCEEDING)
            self._terminate(timed_out=timed_out)
            return []
        if self.state in (State.TRYING, State.PROCEEDING):
            return self._retransmit_due(now, self.request.to_bytes())
        return []


def non_2xx_ack(invite: Request, response: Response) -> Request:
    """The ACK a client transaction sends for a 3xx-6xx (17.1.1.3): same branch and Request-URI,
    the To of the response (with its tag), the INVITE's Route headers."""
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    for name in ("Route",):
        for value in invite.headers.get_all(name):
            headers.add(name, value)
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq[0]} ACK")
    return Request(headers, b"", "ACK", invite.uri)
