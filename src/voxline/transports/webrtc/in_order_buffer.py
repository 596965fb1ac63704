"""An audio jitter buffer that holds nothing while packets arrive in order.

aiortc's JitterBuffer releases a frame only once a packet with a later timestamp has arrived
(that is how it knows a video frame is complete), so even at its least (prefetch=1) every
audio packet waits for the next one: 20 ms. An Opus packet is a whole frame by itself, so this
buffer releases the packet that is next in sequence the moment it arrives. Only a gap holds:
packets past it wait (up to LOSS_WAIT of them) for the missing one; after that it is counted
lost and the oldest waiting packet goes out. aiortc's receiver takes at most one frame per
packet it adds, so after a gap the packets that waited leave one per arrival: the buffer then
keeps the hold it had to build, as aiortc's own does, until a later loss takes it back.

Same interface as aiortc.jitterbuffer.JitterBuffer where its receiver uses it:
`add(packet) -> (pli_flag, frame or None)` and `capacity`. Pure: no clock, no event loop.
"""

from __future__ import annotations

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

# Packets past a gap kept waiting for the missing one (60 ms) before it is given up as lost.
LOSS_WAIT = 3
_HALF = 0x8000  # sequence numbers this far behind the next expected are old, not new


class InOrderJitterBuffer:
    def __init__(self, capacity: int = 16, loss_wait: int = LOSS_WAIT) -> None:
        if loss_wait < 1 or loss_wait >= capacity:
            raise ValueError(f"loss_wait must be 1..{capacity - 1}, got {loss_wait}")
        self.capacity = capacity
        self.loss_wait = loss_wait
        self._next: int | None = None  # the sequence number to release next
        self._held: dict[int, RtpPacket] = {}
        self.released = 0
        self.lost = 0  # packets given up on
        self.late = 0  # arrived after they were given up on, or twice: dropped
        self.held_max = 0  # the most packets ever waiting at once

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if self._next is None:
            self._next = seq
        ahead = uint16_add(seq, -self._next)
        if ahead >= _HALF or seq in self._held:
            self.late += 1
            return False, None
        if ahead >= self.capacity:  # a jump (the sender restarted): start again from it
            self.lost += len(self._held)
            self._held.clear()
            self._next = seq
        self._held[seq] = packet
        self.held_max = max(self.held_max, len(self._held))
        if self._next not in self._held and len(self._held) > self.loss_wait:
            oldest = min(self._held, key=lambda s: uint16_add(s, -self._next))
            self.lost += uint16_add(oldest, -self._next)
            self._next = oldest
        ready = self._held.pop(self._next, None)
        if ready is None:
            return False, None
        self._next = uint16_add(self._next, 1)
        self.released += 1
        return False, JitterFrame(data=ready._data, timestamp=ready.timestamp)  # type: ignore[attr-defined]
