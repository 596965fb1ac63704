"""A WebRTC caller's receive path timed at the packet, not at the loudspeaker.

aiortc's receiver holds four audio packets (~80 ms) in its jitter buffer before it decodes one,
then decodes on a thread. A browser's jitter buffer holds too, but that hold is the listener's
playout cushion, not the agent's latency: the harness times the agent's first sample when the
packet carrying it arrived. So the caller's audio receiver gets the in-order buffer the server
uses (no hold while packets come in order) and this subclass notes when each packet reached
it, keyed by the pts the decoded frame will carry (aiortc maps RTP timestamps to pts from the
first packet it decodes: the same origin as here, since this buffer releases that packet first).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from voxline.transports.webrtc.in_order_buffer import InOrderJitterBuffer
from voxline.transports.webrtc.receive_hold import shorten_audio_hold

KEPT = 500  # arrivals kept (10 s of 20 ms packets): a decoded frame is read long before that


class StampedArrivals(InOrderJitterBuffer):
    def __init__(self, capacity: int = 16) -> None:
        super().__init__(capacity)
        self._origin: int | None = None  # RTP timestamp of the first packet released
        self._arrived: OrderedDict[int, float] = OrderedDict()  # pts -> time.monotonic()

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        now = time.monotonic()
        pli, frame = super().add(packet)
        if self._origin is None and frame is not None:
            self._origin = frame.timestamp
        if self._origin is not None:
            pts = (packet.timestamp - self._origin) % (1 << 32)
            self._arrived.setdefault(pts, now)
            while len(self._arrived) > KEPT:
                self._arrived.popitem(last=False)
        return pli, frame

    def arrival(self, pts: int | None) -> float | None:
        """When the packet that decoded to the frame stamped `pts` arrived (None: unknown)."""
        return None if pts is None else self._arrived.get(pts)


def stamp_audio_arrivals(pc: RTCPeerConnection) -> StampedArrivals | None:
    """Install the stamping no-hold buffer on `pc`'s audio receiver (call after addTrack,
    before the offer); None if aiortc's receiver is not laid out as expected."""
    installed = shorten_audio_hold(pc, StampedArrivals)
    return installed[0] if installed else None  # type: ignore[return-value]
