"""Per-worker WebRTC counters: every ICE and connection state change, call set-up times, and
why calls ended. Read by `/webrtc/stats` and the status panel.

Transitions are counted by (side, machine, state): side "server" is aiortc's view (ICE states
new/checking/completed/failed/closed; connection states new/connecting/connected/failed/closed),
side "browser" the page's own RTCPeerConnection (which also has connected and disconnected).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("voxline.webrtc.ice")

RECENT = 100  # set-up times and ended calls kept for the stats endpoint


@dataclass(frozen=True)
class EndedCall:
    call_id: str
    reason: str
    setup_ms: float | None
    turns: int


class WebRTCStats:
    def __init__(self) -> None:
        self.transitions: Counter[tuple[str, str, str]] = Counter()
        self.end_reasons: Counter[str] = Counter()
        self.refused_candidates: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()  # calls refused before they started, by code
        self.setup_ms: deque[float] = deque(maxlen=RECENT)
        self.ended: deque[EndedCall] = deque(maxlen=RECENT)
        self.ice_failures: deque[tuple[str, str]] = deque(maxlen=RECENT)  # (call_id, reason)

    def transition(self, call_id: str, side: str, machine: str, previous: str, state: str) -> None:
        self.transitions[(side, machine, state)] += 1
        level = logging.WARNING if state in ("failed", "disconnected") else logging.INFO
        log.log(level, "call %s %s %s: %s -> %s", call_id, side, machine, previous, state)

    def ice_failed(self, call_id: str, reason: str) -> None:
        self.ice_failures.append((call_id, reason))
        log.warning("call %s ICE failed: %s", call_id, reason)

    def call_ended(self, ended: EndedCall) -> None:
        self.end_reasons[ended.reason.split(":", 1)[0]] += 1
        self.ended.append(ended)

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, dict[str, dict[str, int]]] = {}
        for (side, machine, state), n in sorted(self.transitions.items()):
            counts.setdefault(side, {}).setdefault(machine, {})[state] = n
        return {
            "state_transitions": counts,
            "end_reasons": dict(self.end_reasons),
            "refused_remote_candidates": dict(self.refused_candidates),
            "rejected_calls": dict(self.rejected),
            "setup_ms_recent": list(self.setup_ms),
            "ice_failures_recent": [{"call_id": c, "reason": r} for c, r in self.ice_failures],
            "ended_recent": [e.__dict__ for e in self.ended],
        }
