"""RFC 4733 telephone-events (DTMF) in and out.

Payload (2.3): event (8 bits), E end bit, R reserved, volume (6 bits), duration (16 bits, in
timestamp units). Every packet of one event carries the event's start timestamp; the sender
repeats the final (E) packet three times because the network may drop any one of them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

EVENTS = "0123456789*#ABCD"  # event codes 0-15 (RFC 4733 3.2)
END_REPEATS = 3  # 2.5.1.4: the end packet is sent three times
PAYLOAD = struct.Struct("!BBH")


class DtmfError(ValueError):
    """A telephone-event payload that cannot be read, or a key that has no event code."""


@dataclass(frozen=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # 0-63, as -dBm0
    duration: int  # timestamp units since the event's start

    @property
    def digit(self) -> str | None:
        return EVENTS[self.event] if self.event < len(EVENTS) else None

    def to_bytes(self) -> bytes:
        return PAYLOAD.pack(self.event, (0x80 if self.end else 0) | (self.volume & 0x3F),
                            min(self.duration, 0xFFFF))


def parse_event(payload: bytes) -> TelephoneEvent:
    if len(payload) < PAYLOAD.size:
        raise DtmfError(f"telephone-event payload of {len(payload)} bytes; it has 4")
    event, flags, duration = PAYLOAD.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


class DtmfReceiver:
    """Turns a stream of event packets into key presses, each reported once.

    An event is known by its RTP timestamp; the first packet of a new one reports the digit at
    once (the caller hears the agent react sooner than waiting for the end), and its
    retransmitted updates and end packets are ignored."""

    def __init__(self) -> None:
        self._current: int | None = None  # timestamp of the event already reported
        self.events = 0

    def feed(self, timestamp: int, payload: bytes) -> str | None:
        event = parse_event(payload)
        if timestamp == self._current:
            return None
        self._current = timestamp
        if event.digit is None:
            return None  # flash-hook or tones beyond 0-15: not a key
        self.events += 1
        return event.digit


@dataclass(frozen=True)
class EventPacket:
    payload: bytes
    marker: bool  # set on the first packet of the event (2.5.1.3)
    # Every packet of the event carries the event's start timestamp: the sender keeps it.


def event_packets(digit: str, *, duration_ms: int = 100, packet_ms: int = 20, rate: int = 8000,
                  volume: int = 10) -> list[EventPacket]:
    """The packets that send one key: updates every `packet_ms` with growing duration, then the
    end packet repeated. The caller sends one per packet interval and keeps the sequence going."""
    if digit not in EVENTS:
        raise DtmfError(f"{digit!r} is not a DTMF key: one of {EVENTS}")
    code = EVENTS.index(digit)
    step = rate * packet_ms // 1000
    total = rate * duration_ms // 1000
    packets = []
    duration = step
    while duration < total:
        packets.append(EventPacket(TelephoneEvent(code, False, volume, duration).to_bytes(),
                                   not packets))
        duration += step
    end = TelephoneEvent(code, True, volume, total).to_bytes()
    packets += [EventPacket(end, not packets and i == 0) for i in range(END_REPEATS)]
    return packets
