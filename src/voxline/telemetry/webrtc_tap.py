"""WebRTC's per-worker stats, also told to telemetry: ICE and connection state changes,
ICE failures with their reason, and why each call ended.

A subclass, swapped in for the service's own stats object when the app is built, so the
WebRTC transport needs no telemetry code of its own.
"""

from __future__ import annotations

from voxline.telemetry.hub import Telemetry
from voxline.transports.webrtc.stats import EndedCall, WebRTCStats


class ObservedWebRTCStats(WebRTCStats):
    def __init__(self, telemetry: Telemetry) -> None:
        super().__init__()
        self._telemetry = telemetry

    def transition(self, call_id: str, side: str, machine: str, previous: str, state: str) -> None:
        super().transition(call_id, side, machine, previous, state)
        self._telemetry.ice_transition(call_id, side, machine, previous, state)

    def ice_failed(self, call_id: str, reason: str) -> None:
        super().ice_failed(call_id, reason)
        self._telemetry.ice_failed(call_id, reason)

    def call_ended(self, ended: EndedCall) -> None:
        super().call_ended(ended)
        self._telemetry.transport_ended(ended.call_id, ended.reason)
