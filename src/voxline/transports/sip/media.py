"""One call's RTP/RTCP: G.711 both ways between the caller and a `Call`, paced in 20 ms.

    caller ─ RTP ─►  source check (symmetric RTP) ─► in order ─► decoded, 8 kHz ─► Call.receive
           ─ RTP telephone-event ─► Call.dtmf
           ◄─ RTP ─  one packet per 20 ms tick: agent audio from Call.next_frame (16->8 kHz),
                     comfort silence while the agent is quiet, DTMF events when asked
           ◄► RTCP   SR/RR every RTCP_INTERVAL_S; the caller's reports are read

Symmetric RTP: the first packet from the address in the SDP (or from the host that signalled
the call, for a caller behind NAT) fixes where the caller's media comes from, and from then on
agent audio goes back to exactly that address and port. Packets from any other source are
ignored and counted: media from an unexpected source is never played to the agent.

Inbound audio reaches `Call.receive` the moment its packet arrives (protocols/rtp/in_order.py):
in-order packets at once, a gap waits at most GAP_WAIT_S (checked on each tick, so up to one
tick more) and is then concealed, a caller who stops sending gets fills at the packet rate. The
engine counts frames, so no playout clock stands between the caller and it. While the engine is
fed exactly one frame per caller packet, inbound position N ms is the caller's packet N/20
(counted from the first packet played): `inbound_summary` says until where that held, for a
client that times the endpoint from its own send times (the bench's SIP caller).

One ticker per call on an absolute schedule (tick n at start + n x 20 ms) does both directions,
so a late wake-up never adds up and no task is made per frame. While the agent is quiet, `wake`
(hooked to the call's `AudioOut.on_playable`) runs the next tick at once and restarts the
schedule from it: a released answer leaves now, not at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from voxline.protocols.rtp.conceal import Played
from voxline.protocols.rtp.dtmf import DtmfError, DtmfReceiver, event_packets
from voxline.protocols.rtp.in_order import InOrderReceiver
from voxline.protocols.rtp.packet import RtpError, RtpPacket, is_rtcp, parse_rtp
from voxline.protocols.rtp.rtcp import (
    ReceptionStats,
    RtcpError,
    SenderInfo,
    build_bye,
    build_report,
    parse_rtcp,
)
from voxline.protocols.sip.sdp import AudioPlan
from voxline.transports.sip.audio import G711, SAMPLES_PER_PACKET, ToEngine, ToWire
from voxline.transports.wakeable_sleep import WakeableSleep

log = logging.getLogger(__name__)

FRAME_S = 0.02
FRAME_MS = 20
RTCP_INTERVAL_S = 5.0  # RFC 3550 6.2: the minimum interval for a two-party session
MAX_LATE_S = 0.2  # further behind schedule than this (a stalled loop): restart, do not burst
OUT_QUEUE_PACKETS = 10  # agent packets waiting for their tick (the resampler comes in bursts)
COMFORT_NOISE_PT = 13  # RFC 3389


class CallSide(Protocol):
    """What the media needs of the turn engine (voxline.session.call.Call has it)."""

    def receive(self, frame: bytes) -> None: ...
    def next_frame(self) -> bytes | None: ...
    def dtmf(self, digit: str) -> None: ...


@dataclass
class MediaStats:
    packets_in: int = 0
    packets_out: int = 0
    audio_packets_out: int = 0  # of packets_out, those with agent audio (not comfort silence)
    ignored_source: int = 0  # RTP from an address that is not the caller's
    bad_packets: int = 0
    unknown_payload: int = 0
    dtmf_in: int = 0
    dtmf_out: int = 0
    rtcp_in: int = 0
    rtcp_out: int = 0
    late_restarts: int = 0
    frames_in: int = 0  # 20 ms frames handed to the engine
    held_frames: int = 0  # caller audio not handed on: we were not receiving (hold)


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram) -> None:
        self._on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable after the caller left: nothing to do but keep going.
        log.debug("rtp socket error: %s", exc)


class MediaSession:
    def __init__(self, call: CallSide, plan: AudioPlan, *, signalling_host: str,
                 clock=time.monotonic) -> None:
        self.call = call
        self.stats = MediaStats()
        self.ssrc = secrets.randbits(32)
        self._clock = clock
        self._rtp: _Socket = _Socket(self._on_rtp)
        self._rtcp: _Socket = _Socket(self._on_rtcp)
        self._signalling_host = signalling_host
        self._seq = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self.inbound = InOrderReceiver()
        self.reception = ReceptionStats()
        # Inbound position (ms of frames the engine was fed) up to which every frame was one
        # caller packet, in order; None: all of them so far.
        self.exact_until_ms: int | None = None
        self._dtmf_in = DtmfReceiver()
        self._dtmf_out: deque[tuple[bytes, bool]] = deque()
        self._dtmf_timestamp = 0
        self._queue: deque[bytes] = deque(maxlen=OUT_QUEUE_PACKETS)
        self._to_engine = ToEngine()
        self._speaking = False
        self._tail_flushed = False  # the agent's last talkspurt ended with its filter tail
        self._octets_out = 0
        self._next_rtcp = 0.0
        self.plan = plan
        self._codec = G711(plan.codec)
        self._to_wire = ToWire(self._codec)
        self._latched: tuple | None = None
        self._latched_rtcp: tuple | None = None
        self.closed = False
        self._sleep = WakeableSleep()
        self.early_ticks = 0

    def wake(self) -> None:
        """Agent audio became playable: while quiet, tick now rather than at the next tick."""
        self._sleep.wake()

    # -- sockets ---------------------------------------------------------------------------------

    @property
    def rtp_protocol(self) -> asyncio.DatagramProtocol:
        return self._rtp

    @property
    def rtcp_protocol(self) -> asyncio.DatagramProtocol:
        return self._rtcp

    def update(self, plan: AudioPlan) -> None:
        """A re-INVITE changed the stream: hold/unhold, another address, another codec."""
        moved = (plan.remote_address, plan.remote_port) != (self.plan.remote_address,
                                                            self.plan.remote_port)
        if moved:
            self._latched = self._latched_rtcp = None  # learn the new source afresh
        if plan.codec != self.plan.codec:
            self._codec = G711(plan.codec)
            self._to_wire = ToWire(self._codec)
            self._queue.clear()
        self.plan = plan

    def barge_in(self) -> None:
        """The call dropped its queued audio: drop ours too (at most a few packets)."""
        self._queue.clear()
        self._to_wire = ToWire(self._codec)

    def send_dtmf(self, digit: str) -> None:
        """Send a key to the caller (RFC 4733) if they offered telephone-event."""
        if self.plan.dtmf_payload_type is None:
            raise DtmfError("the caller did not offer telephone-event: no way to send keys")
        self._dtmf_out.extend((p.payload, p.marker) for p in event_packets(digit))
        self.stats.dtmf_out += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._rtcp.transport is not None:
            self._send_rtcp(bye=True)
        for sock in (self._rtp, self._rtcp):
            if sock.transport is not None:
                sock.transport.close()

    # -- in --------------------------------------------------------------------------------------

    def _accept_source(self, addr: tuple) -> bool:
        if self._latched is None:
            if addr[0] not in (self.plan.remote_address, self._signalling_host):
                return False
            self._latched = addr
            log.debug("rtp source latched at %s:%s", addr[0], addr[1])
        return addr[:2] == self._latched[:2]

    def _on_rtp(self, data: bytes, addr: tuple) -> None:
        if is_rtcp(data):  # rtcp-mux (RFC 5761) peers send both on one port
            self._on_rtcp(data, addr, muxed=True)
            return
        if not self._accept_source(addr):
            self.stats.ignored_source += 1
            return
        try:
            packet = parse_rtp(data)
        except RtpError:
            self.stats.bad_packets += 1
            return
        now = self._clock()
        self.stats.packets_in += 1
        self.reception.update(packet.ssrc, packet.sequence, packet.timestamp, now)
        if packet.payload_type == self.plan.payload_type:
            pcm: bytes | None = self._codec.decode(packet.payload)
        elif packet.payload_type in (self.plan.dtmf_payload_type, COMFORT_NOISE_PT):
            pcm = None  # a slot with no audio: an interval of silence for the engine
        else:
            self.stats.unknown_payload += 1
            return
        self._to_call(self.inbound.push(packet.sequence, packet.ssrc, pcm, now))
        if packet.payload_type == self.plan.dtmf_payload_type:
            self._on_dtmf(packet)

    def _to_call(self, played: list[Played]) -> None:
        for one in played:
            if not self.plan.receiving:
                self.stats.held_frames += 1
                self._inexact()
                continue
            if one.kind in ("concealed", "comfort"):
                self._inexact()  # a frame that was no caller packet
            for frame in self._to_engine.push(one.pcm):
                self.call.receive(frame)
                self.stats.frames_in += 1

    def _inexact(self) -> None:
        if self.exact_until_ms is None:
            self.exact_until_ms = self.stats.frames_in * FRAME_MS

    def inbound_summary(self) -> dict[str, int | None]:
        """How the caller's packets reached the engine (for the call's records)."""
        s = self.inbound.stats
        return {"packets": s.received, "released": s.released, "late": s.late,
                "duplicates": s.duplicates, "concealed": s.concealed, "filled": s.filled,
                "covered": s.covered, "resyncs": s.resyncs, "held": self.stats.held_frames,
                "frames_in": self.stats.frames_in, "exact_until_ms": self.exact_until_ms}

    def _on_dtmf(self, packet: RtpPacket) -> None:
        try:
            digit = self._dtmf_in.feed(packet.timestamp, packet.payload)
        except DtmfError:
            self.stats.bad_packets += 1
            return
        if digit is not None:
            self.stats.dtmf_in += 1
            self.call.dtmf(digit)

    def _on_rtcp(self, data: bytes, addr: tuple, muxed: bool = False) -> None:
        if self._latched is not None and addr[0] != self._latched[0]:
            self.stats.ignored_source += 1
            return
        if not muxed and self._latched_rtcp is None and self._latched is not None:
            self._latched_rtcp = addr
        try:
            compound = parse_rtcp(data)
        except RtcpError:
            self.stats.bad_packets += 1
            return
        self.stats.rtcp_in += 1
        for report in compound.reports:
            if report.sender is not None:
                self.reception.on_sender_report(report.sender.ntp_time, self._clock())

    # -- out -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Tick every 20 ms until cancelled."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        self._next_rtcp = self._clock() + 1.0  # first report soon, then every interval
        tick = 0
        while not self.closed:
            delay = start + tick * FRAME_S - loop.time()
            if delay > 0:
                if self._speaking or self._queue:
                    await asyncio.sleep(delay)
                elif await self._sleep.sleep(delay):
                    start = loop.time() - tick * FRAME_S  # this tick now, the next 20 ms on
                    self.early_ticks += 1
            elif delay < -MAX_LATE_S:
                start = loop.time() - tick * FRAME_S
                self.stats.late_restarts += 1
            tick += 1
            self.tick()

    def tick(self) -> None:
        """One 20 ms step both ways (public so tests can step it by hand)."""
        self._to_call(self.inbound.tick(self._clock()))  # gaps waited out, fills
        pcm = self.call.next_frame()  # exactly once a tick: the engine's playout clock
        if pcm is not None:
            self._queue.extend(self._to_wire.push(pcm))
            self._tail_flushed = False
        elif self._speaking and not self._queue and not self._tail_flushed:
            # Once: the filter's tail always holds a few samples, and a flush on every quiet
            # tick kept the talkspurt open for ever (no marker on the next answer).
            self._queue.extend(self._to_wire.flush())
            self._tail_flushed = True
        self._send_one()
        now = self._clock()
        if now >= self._next_rtcp:
            self._next_rtcp = now + RTCP_INTERVAL_S
            self._send_rtcp()

    def _send_one(self) -> None:
        if self._dtmf_out:
            payload, marker = self._dtmf_out.popleft()
            if marker:
                self._dtmf_timestamp = self._timestamp
            self._send_rtp(self.plan.dtmf_payload_type, payload, marker, self._dtmf_timestamp)
            return
        if self._queue:
            payload = self._queue.popleft()
            marker = not self._speaking  # the first packet of a talkspurt (RFC 3551 4.1)
            self._speaking = True
            self.stats.audio_packets_out += 1
        else:
            payload, marker = self._codec.silence, False  # comfort silence: the line is open
            self._speaking = False
        self._send_rtp(self.plan.payload_type, payload, marker, self._timestamp)

    def _send_rtp(self, pt: int | None, payload: bytes, marker: bool, timestamp: int) -> None:
        seq, self._seq = self._seq, (self._seq + 1) & 0xFFFF
        self._timestamp = (self._timestamp + SAMPLES_PER_PACKET) & 0xFFFFFFFF
        transport = self._rtp.transport
        if pt is None or transport is None or not self.plan.sending or self.closed:
            return  # on hold: the clock runs on, nothing is sent
        packet = RtpPacket(pt, seq, timestamp, self.ssrc, payload, marker)
        transport.sendto(packet.to_bytes(), self._remote())
        self.stats.packets_out += 1
        self._octets_out += len(payload)

    def _remote(self) -> tuple:
        if self._latched is not None:
            return self._latched[:2]
        return self.plan.remote_address, self.plan.remote_port

    def _send_rtcp(self, bye: bool = False) -> None:
        transport = self._rtcp.transport
        if transport is None:
            return
        block = self.reception.block(self._clock())
        sender = None
        if self.stats.packets_out:
            sender = SenderInfo(time.time(), self._timestamp, self.stats.packets_out,
                                self._octets_out)
        data = build_report(self.ssrc, [block] if block else [], sender, cname="voxline")
        if bye:
            data += build_bye(self.ssrc)
        if self._latched_rtcp is not None:
            remote = self._latched_rtcp[:2]
        else:
            host, port = self._remote()
            remote = (host, port + 1)
        transport.sendto(data, remote)
        self.stats.rtcp_out += 1
