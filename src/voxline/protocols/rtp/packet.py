"""RTP packets (RFC 3550 5.1): the fixed header, CSRCs, header extension and padding."""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """Bytes that are not an RTP packet."""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int  # 16 bits, wraps
    timestamp: int  # 32 bits, wraps; in the codec's clock (8000 Hz for G.711)
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None  # (profile-defined id, data)

    def to_bytes(self) -> bytes:
        if not 0 <= self.payload_type < 128:
            raise RtpError(f"payload type {self.payload_type} is not 0-127")
        if len(self.csrc) > 15:
            raise RtpError(f"{len(self.csrc)} CSRCs: at most 15 fit")
        first = (RTP_VERSION << 6) | (0x10 if self.extension else 0) | len(self.csrc)
        second = (0x80 if self.marker else 0) | self.payload_type
        out = [HEADER.pack(first, second, self.sequence & 0xFFFF,
                           self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF)]
        out += [struct.pack("!I", c) for c in self.csrc]
        if self.extension:
            ext_id, data = self.extension
            if len(data) % 4:
                raise RtpError("an RTP header extension is a whole number of 32-bit words")
            out.append(struct.pack("!HH", ext_id, len(data) // 4) + data)
        out.append(self.payload)
        return b"".join(out)


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < HEADER.size:
        raise RtpError(f"{len(data)} bytes is shorter than the 12-byte RTP header")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, not 2")
    offset = HEADER.size
    count = first & 0x0F
    if len(data) < offset + 4 * count:
        raise RtpError("packet too short for its CSRC list")
    csrc = struct.unpack_from(f"!{count}I", data, offset)
    offset += 4 * count
    extension = None
    if first & 0x10:
        if len(data) < offset + 4:
            raise RtpError("packet too short for its header extension")
        ext_id, words = struct.unpack_from("!HH", data, offset)
        end = offset + 4 + 4 * words
        if len(data) < end:
            raise RtpError("header extension runs past the end of the packet")
        extension = (ext_id, data[offset + 4 : end])
        offset = end
    end = len(data)
    if first & 0x20:  # padding: the last byte says how many bytes to drop
        pad = data[-1]
        if pad == 0 or offset + pad > len(data):
            raise RtpError(f"padding of {pad} bytes does not fit the packet")
        end -= pad
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, data[offset:end],
                     bool(second & 0x80), tuple(csrc), extension)


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 4: on a shared port, RTCP packet types 192-223 sit where RTP's marker+PT is."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def seq_newer(a: int, b: int) -> bool:
    """Is 16-bit sequence number `a` after `b`, modulo wrap-around?"""
    return a != b and ((a - b) & 0xFFFF) < 0x8000
