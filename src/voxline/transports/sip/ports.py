"""RTP port pairs: an even port for RTP and the next odd one for RTCP (RFC 3550 11), taken
from the configured range, bound on the media address."""

from __future__ import annotations

import asyncio
import random

from voxline.transports.sip.media import MediaSession


class NoPortsLeft(RuntimeError):
    """Every even port of the range is in use or refused by the OS."""


class RtpPorts:
    def __init__(self, host: str, low: int, high: int) -> None:
        self.host = host
        first = low + (low % 2)
        self._free = list(range(first, high, 2))  # high-1 must be free for the RTCP twin
        random.shuffle(self._free)  # a port used a moment ago is not the next one handed out
        self._used: set[int] = set()

    @property
    def in_use(self) -> int:
        return len(self._used)

    async def bind(self, media: MediaSession) -> int:
        """Bind `media`'s RTP and RTCP sockets; returns the RTP port."""
        loop = asyncio.get_running_loop()
        for _ in range(len(self._free)):
            port = self._free.pop(0)
            try:
                rtp, _ = await loop.create_datagram_endpoint(
                    lambda: media.rtp_protocol, local_addr=(self.host, port))
            except OSError:
                self._free.append(port)  # another process holds it: try it again later
                continue
            try:
                await loop.create_datagram_endpoint(
                    lambda: media.rtcp_protocol, local_addr=(self.host, port + 1))
            except OSError:
                rtp.close()
                self._free.append(port)
                continue
            self._used.add(port)
            return port
        raise NoPortsLeft(f"no free RTP port pair in the range on {self.host}")

    def release(self, port: int) -> None:
        if port in self._used:
            self._used.discard(port)
            self._free.append(port)
