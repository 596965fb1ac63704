"""RTCP (RFC 3550 6): sender and receiver reports, SDES CNAME, BYE; and the receiver-side
statistics that fill a report block (A.1 sequence tracking, A.3 loss, A.8 jitter)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SR, RR, SDES, BYE = 200, 201, 202, 203
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)
_BLOCK = struct.Struct("!IB3sIIII")


class RtcpError(ValueError):
    """Bytes that are not a well-formed RTCP compound packet."""


@dataclass(frozen=True)
class ReportBlock:
    ssrc: int  # the source this block reports on
    fraction_lost: int  # 0-255: lost/expected since the last report, times 256
    cumulative_lost: int  # 24-bit signed
    highest_seq: int  # extended: cycles << 16 | highest sequence number
    jitter: int  # timestamp units
    last_sr: int = 0  # middle 32 bits of the last SR's NTP time
    delay_since_last_sr: int = 0  # in 1/65536 s

    def to_bytes(self) -> bytes:
        lost = self.cumulative_lost & 0xFFFFFF
        return _BLOCK.pack(self.ssrc, self.fraction_lost, lost.to_bytes(3, "big"),
                           self.highest_seq, self.jitter, self.last_sr, self.delay_since_last_sr)


@dataclass(frozen=True)
class SenderInfo:
    ntp_time: float  # Unix seconds
    rtp_timestamp: int
    packets: int
    octets: int


@dataclass
class RtcpReport:
    """One SR or RR."""

    ssrc: int
    sender: SenderInfo | None  # None for an RR
    blocks: list[ReportBlock] = field(default_factory=list)


@dataclass
class RtcpCompound:
    reports: list[RtcpReport] = field(default_factory=list)
    cnames: dict[int, str] = field(default_factory=dict)
    bye: list[int] = field(default_factory=list)


def ntp_middle(unix_s: float) -> int:
    """The middle 32 bits of the 64-bit NTP timestamp (the LSR field of a report block)."""
    seconds = int(unix_s) + NTP_EPOCH_OFFSET
    fraction = int((unix_s % 1) * 2**32)
    return ((seconds & 0xFFFF) << 16) | (fraction >> 16)


def _header(count: int, packet_type: int, body: bytes) -> bytes:
    return struct.pack("!BBH", 0x80 | count, packet_type, len(body) // 4) + body


def build_report(ssrc: int, blocks: list[ReportBlock], sender: SenderInfo | None = None,
                 cname: str | None = None) -> bytes:
    """An SR (when we sent media) or RR, followed by SDES CNAME: a valid compound packet."""
    if len(blocks) > 31:
        raise RtcpError("at most 31 report blocks fit in one report")
    body = struct.pack("!I", ssrc)
    if sender is not None:
        seconds = int(sender.ntp_time) + NTP_EPOCH_OFFSET
        fraction = int((sender.ntp_time % 1) * 2**32)
        body += struct.pack("!IIIII", seconds & 0xFFFFFFFF, fraction, sender.rtp_timestamp
                            & 0xFFFFFFFF, sender.packets & 0xFFFFFFFF, sender.octets & 0xFFFFFFFF)
    body += b"".join(b.to_bytes() for b in blocks)
    out = _header(len(blocks), SR if sender is not None else RR, body)
    if cname is not None:
        item = cname.encode()[:255]
        chunk = struct.pack("!IBB", ssrc, 1, len(item)) + item + b"\x00"
        chunk += b"\x00" * (-len(chunk) % 4)  # items end with a null, chunks on 32 bits
        out += _header(1, SDES, chunk)
    return out


def build_bye(ssrc: int) -> bytes:
    return _header(1, BYE, struct.pack("!I", ssrc))


def parse_rtcp(data: bytes) -> RtcpCompound:
    compound = RtcpCompound()
    offset = 0
    if len(data) < 4:
        raise RtcpError(f"{len(data)} bytes is shorter than an RTCP header")
    while offset < len(data):
        if len(data) - offset < 4:
            raise RtcpError("trailing bytes after the last RTCP packet")
        first, packet_type, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != 2:
            raise RtcpError(f"RTCP version {first >> 6}, not 2")
        end = offset + 4 + 4 * words
        if end > len(data):
            raise RtcpError("an RTCP packet runs past the end of the datagram")
        body = data[offset + 4 : end]
        if first & 0x20 and body:  # padding
            body = body[: -body[-1]] if body[-1] <= len(body) else b""
        count = first & 0x1F
        if packet_type in (SR, RR):
            compound.reports.append(_parse_report(packet_type, count, body))
        elif packet_type == SDES:
            compound.cnames.update(_parse_sdes(count, body))
        elif packet_type == BYE:
            compound.bye += [struct.unpack_from("!I", body, 4 * i)[0]
                             for i in range(min(count, len(body) // 4))]
        offset = end
    return compound


def _parse_report(packet_type: int, count: int, body: bytes) -> RtcpReport:
    need = 4 + (20 if packet_type == SR else 0) + 24 * count
    if len(body) < need:
        raise RtcpError(f"{'SR' if packet_type == SR else 'RR'} with {count} blocks needs "
                        f"{need} bytes, has {len(body)}")
    (ssrc,) = struct.unpack_from("!I", body)
    offset, sender = 4, None
    if packet_type == SR:
        seconds, fraction, rtp_ts, packets, octets = struct.unpack_from("!IIIII", body, 4)
        sender = SenderInfo(seconds - NTP_EPOCH_OFFSET + fraction / 2**32, rtp_ts, packets,
                            octets)
        offset = 24
    blocks = []
    for _ in range(count):
        src, fraction, lost, highest, jitter, lsr, dlsr = _BLOCK.unpack_from(body, offset)
        cumulative = int.from_bytes(lost, "big", signed=True)
        blocks.append(ReportBlock(src, fraction, cumulative, highest, jitter, lsr, dlsr))
        offset += 24
    return RtcpReport(ssrc, sender, blocks)


def _parse_sdes(count: int, body: bytes) -> dict[int, str]:
    names, offset = {}, 0
    for _ in range(count):
        if offset + 4 > len(body):
            break
        (ssrc,) = struct.unpack_from("!I", body, offset)
        offset += 4
        while offset < len(body) and body[offset] != 0:
            if offset + 2 > len(body):
                break
            kind, length = body[offset], body[offset + 1]
            if kind == 1:
                names[ssrc] = body[offset + 2 : offset + 2 + length].decode("utf-8", "replace")
            offset += 2 + length
        offset = (offset + 4) & ~3  # skip the null(s) to the next 32-bit boundary
    return names


class ReceptionStats:
    """What we know of one incoming stream, for the report block we send about it."""

    def __init__(self, rate: int = 8000) -> None:
        self.rate = rate
        self._reset(None)

    def _reset(self, ssrc: int | None) -> None:
        self.ssrc = ssrc
        self.received = 0
        self._base: int | None = None
        self._max = 0
        self._cycles = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._jitter = 0.0
        self._transit: float | None = None
        self.last_sr: int = 0
        self._last_sr_at: float | None = None

    def update(self, ssrc: int, seq: int, timestamp: int, arrival_s: float) -> None:
        if self.ssrc != ssrc:
            self._reset(ssrc)  # a new source: its statistics start over
        if self._base is None:
            self._base = self._max = seq
        elif (seq - self._max) & 0xFFFF < 0x8000:  # in order, possibly after a gap
            if seq < self._max:
                self._cycles += 1 << 16
            self._max = seq
        self.received += 1
        transit = arrival_s * self.rate - timestamp
        if self._transit is not None:
            self._jitter += (abs(transit - self._transit) - self._jitter) / 16
        self._transit = transit

    def on_sender_report(self, ntp_time: float, arrival_s: float) -> None:
        self.last_sr = ntp_middle(ntp_time)
        self._last_sr_at = arrival_s

    @property
    def jitter_ms(self) -> float:
        """The interarrival jitter estimate (A.8), in ms."""
        return self._jitter * 1000 / self.rate

    @property
    def expected(self) -> int:
        if self._base is None:
            return 0
        return self._cycles + self._max - self._base + 1

    @property
    def lost(self) -> int:
        return self.expected - self.received

    def block(self, now_s: float) -> ReportBlock | None:
        """The report block for this source, and the start of the next interval."""
        if self.ssrc is None or self._base is None:
            return None
        expected = self.expected
        interval_expected = expected - self._expected_prior
        interval_received = self.received - self._received_prior
        self._expected_prior, self._received_prior = expected, self.received
        interval_lost = interval_expected - interval_received
        fraction = 0 if interval_expected <= 0 or interval_lost <= 0 else \
            (interval_lost << 8) // interval_expected
        dlsr = 0
        if self._last_sr_at is not None:
            dlsr = int((now_s - self._last_sr_at) * 65536)
        lost = max(-(1 << 23), min(self.lost, (1 << 23) - 1))
        return ReportBlock(self.ssrc, min(fraction, 255), lost, self._cycles + self._max,
                           int(self._jitter), self.last_sr, dlsr)
