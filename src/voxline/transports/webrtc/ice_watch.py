"""One call's ICE and connection states: logged and counted, set-up time, and why ICE failed.

Set-up time runs from the offer arriving to aiortc's ICE transport completing (it has no
"connected" state: checks succeed and a pair is nominated in one step, "completed"). Both
instants come from the call's clock; the subtraction is session/latency.py's.

aioice reports a failure as a bare "ICE negotiation failed", so the reason is rebuilt here from
what the call saw: no usable remote candidates, checks that all failed, or consent lost after
the call was up (the browser went away without closing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from voxline.session.clock import CallClock
from voxline.session.latency import relative_ms
from voxline.transports.webrtc.stats import WebRTCStats

ICE_CONNECTED = "completed"  # aiortc's only "connected" ICE state


class IceWatch:
    def __init__(
        self,
        call_id: str,
        clock: CallClock,
        stats: WebRTCStats,
        on_connected: Callable[[float | None], None],
        on_failed: Callable[[str], None],
    ) -> None:
        self.call_id = call_id
        self._clock = clock
        self._stats = stats
        self._on_connected = on_connected
        self._on_failed = on_failed
        self._ice = "new"
        self._connection = "new"
        self._browser = "new"
        self._offer_ns: int | None = None
        self.setup_ms: float | None = None
        self.remote_candidates = 0  # handed to aiortc
        self.refused: Counter[str] = Counter()  # not handed to aiortc, by reason
        self.failure: str | None = None

    def offer_received(self) -> None:
        self._offer_ns = self._clock.now_ns()

    def candidate_added(self) -> None:
        self.remote_candidates += 1

    def candidate_refused(self, reason: str) -> None:
        self.refused[reason] += 1
        self._stats.refused_candidates[reason] += 1

    def watch(self, pc: Any) -> None:
        """Subscribe to an aiortc RTCPeerConnection's state events."""
        pc.on("iceconnectionstatechange", lambda: self.ice_state(pc.iceConnectionState))
        pc.on("connectionstatechange", lambda: self.connection_state(pc.connectionState))

    def ice_state(self, state: str) -> None:
        previous, self._ice = self._ice, state
        self._stats.transition(self.call_id, "server", "ice", previous, state)
        if state == ICE_CONNECTED and self.setup_ms is None and self._offer_ns is not None:
            connected_ns = self._clock.now_ns()
            self.setup_ms = relative_ms({"ice_connected": connected_ns}, self._offer_ns)[
                "ice_connected"
            ]
            self._stats.setup_ms.append(self.setup_ms)
            self._on_connected(self.setup_ms)
        elif state == "failed":
            self._fail(self._ice_failure(previous))

    def connection_state(self, state: str) -> None:
        previous, self._connection = self._connection, state
        self._stats.transition(self.call_id, "server", "connection", previous, state)
        if state == "failed" and self._ice != "failed":
            self._fail("DTLS handshake failed after ICE connected")

    def browser_state(self, state: str) -> None:
        """The page reported its own RTCPeerConnection's ICE state."""
        previous, self._browser = self._browser, state
        self._stats.transition(self.call_id, "browser", "ice", previous, state)

    def _ice_failure(self, previous: str) -> str:
        if previous == ICE_CONNECTED:
            return "consent lost: the browser stopped answering ICE checks on a connected call"
        refused = ", ".join(f"{n} {r}" for r, n in sorted(self.refused.items()))
        if self.remote_candidates == 0:
            seen = f" ({refused} refused)" if refused else ""
            return f"no usable remote candidates{seen}: nothing to check against"
        return (
            f"connectivity checks failed on every pair ({self.remote_candidates} remote "
            "candidates): the browser and this server cannot reach each other; a TURN "
            "server (VOXLINE_WEBRTC__TURN_URLS) relays when no direct path exists"
        )

    def _fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            self._stats.ice_failed(self.call_id, reason)
            self._on_failed(reason)
