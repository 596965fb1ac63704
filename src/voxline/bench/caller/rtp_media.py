"""G.711 over RTP on one UDP socket, for the SIP caller and the SIP delay agent: frames out
as RTP packets (PCMU or PCMA, 20 ms, one SSRC), packets in decoded to PCM16 at 8 kHz with
the sequence numbers that never arrived counted. RTCP and telephone-event packets are not
audio and are skipped. The pacing is the caller's: this only moves bytes."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

from voxline.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voxline.protocols.rtp.packet import RtpError, RtpPacket, is_rtcp, parse_rtp, seq_newer

RATE = 8000
SAMPLES_PER_FRAME = 160
CODECS = {"PCMU": (ulaw_encode, ulaw_decode), "PCMA": (alaw_encode, alaw_decode)}

OnAudio = Callable[[bytes, float], None]  # (PCM16 8 kHz, arrival time.monotonic())


class RtpMedia(asyncio.DatagramProtocol):
    def __init__(self, on_audio: OnAudio) -> None:
        self.on_audio = on_audio
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: tuple[str, int] | None = None
        self.payload_type = 0
        self._encode, self._decode = CODECS["PCMU"]
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._first = True
        self._last_seq: int | None = None
        self.sequence_gaps = 0
        self.packets_in = 0
        self.packets_out = 0
        self.talkspurts_at: list[float] = []  # arrival of each marked packet: audio starts

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def connection_made(self, transport) -> None:
        self.transport = transport

    def use(self, codec: str, payload_type: int, remote: tuple[str, int]) -> None:
        """What the offer/answer settled: the codec both sides send, and where ours go."""
        self._encode, self._decode = CODECS[codec]
        self.payload_type, self.remote = payload_type, remote

    def send(self, pcm: bytes) -> None:
        """One 20 ms frame of PCM16 at 8 kHz."""
        if self.remote is None or self.transport is None or self.transport.is_closing():
            return
        packet = RtpPacket(self.payload_type, self._seq, self._timestamp, self._ssrc,
                           self._encode(pcm), marker=self._first)
        self.transport.sendto(packet.to_bytes(), self.remote)
        self._first = False
        self._seq = (self._seq + 1) & 0xFFFF
        self._timestamp = (self._timestamp + SAMPLES_PER_FRAME) & 0xFFFFFFFF
        self.packets_out += 1

    def datagram_received(self, data: bytes, addr) -> None:
        now = time.monotonic()
        if is_rtcp(data):
            return
        try:
            packet = parse_rtp(data)
        except RtpError:
            return
        if packet.payload_type != self.payload_type:
            return  # telephone-event, comfort noise: not audio to play
        if self._last_seq is not None:
            if not seq_newer(packet.sequence, self._last_seq):
                return  # late or duplicate: a phone's jitter buffer drops it too
            self.sequence_gaps += (packet.sequence - self._last_seq - 1) & 0xFFFF
        self._last_seq = packet.sequence
        self.packets_in += 1
        if packet.marker:  # RFC 3551 4.1: the first packet of a talkspurt
            self.talkspurts_at.append(now)
        self.on_audio(self._decode(packet.payload), now)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
