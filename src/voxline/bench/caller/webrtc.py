"""The caller over WebRTC, on aiortc, speaking voxline's browser signalling:

    POST /webrtc/calls -> {"call_id", "signalling"}; WebSocket to that path;
    offer without candidates, then each candidate trickled, then end_of_candidates;
    answer -> remote description; "connected" -> set-up done; "bye" -> the server hung up.

Target: ``http://host:port``. The mic is a track whose recv() is the line's 20 ms tick (aiortc
pulls it on its own schedule; the track paces it absolutely); the agent's track is read frame by
frame into the line, with gaps in its timestamps counted as missing packets. No ICE server is
used unless given (aiortc's default Google STUN server never is). setup_ms: POST -> connected.

The agent's audio is timed when its packet arrived (webrtc_arrivals.py): the caller's receiver
holds no packet while they come in order, and each decoded frame is stamped with its packet's
arrival, not with when aiortc's decoder thread handed it over. aiortc's own receive buffer
held four packets (~80 ms) first: a loudspeaker's cushion, which is the phone's, not the
agent's latency (as the line's playout buffer is, line.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from voxline.bench.caller.errors import TargetError, UnreachableError
from voxline.bench.caller.line import CallerLine
from voxline.bench.caller.webrtc_arrivals import StampedArrivals, stamp_audio_arrivals
from voxline.tasks import cancel_and_wait
from voxline.transports.webrtc.av_frames import audio_frame, mono_pcm16
from voxline.transports.webrtc.host_candidates import pin_host_addresses

CONNECT_TIMEOUT_S = 20.0
FRAME_S = 0.02


def split_candidates(sdp: str) -> tuple[str, list[str]]:
    """An SDP without its a=candidate / a=end-of-candidates lines, and the candidates."""
    kept, candidates = [], []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            candidates.append(line.removeprefix("a="))
        elif line != "a=end-of-candidates":
            kept.append(line)
    return "\r\n".join(kept) + "\r\n", candidates


class LineMic(MediaStreamTrack):
    """The caller's microphone: each recv() is one tick of the line, on an absolute schedule."""

    kind = "audio"

    def __init__(self, line: CallerLine) -> None:
        super().__init__()
        self.line = line
        self._base: float | None = None
        self._n = 0

    async def recv(self):  # -> av.AudioFrame
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._base is None:
            self._base = now
        delay = self._base + self._n * FRAME_S - now
        if delay > 0:
            await asyncio.sleep(delay)
        frame = audio_frame(self.line.next_frame(time.monotonic()), self.line.rate,
                            self._n * self.line.frame_samples)
        frame.time_base = fractions.Fraction(1, self.line.rate)
        self._n += 1
        return frame


class WebRTCCall:
    def __init__(self, line: CallerLine, target: str, *,
                 ice_servers: list[RTCIceServer] | None = None) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetError(f"{target!r}: the webrtc transport dials http(s)://host:port")
        self.line = line
        self.base = target.rstrip("/")
        self.host, self.port = parts.hostname, parts.port or (443 if parts.scheme == "https"
                                                              else 80)
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=list(ice_servers or [])))
        self._ws: Any = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.setup_ms: float | None = None
        self.call_id: str | None = None
        self._arrivals: StampedArrivals | None = None

    async def dial(self) -> None:
        began = time.monotonic()
        try:
            async with httpx.AsyncClient(base_url=self.base, timeout=10, trust_env=False) as http:
                line = await http.post("/webrtc/calls")
        except httpx.HTTPError as err:
            raise UnreachableError(f"cannot reach {self.base}/webrtc/calls: "
                                   f"{err or type(err).__name__}; is `voxline serve` running "
                                   "there?") from err
        if not line.is_success:
            raise UnreachableError(f"{self.base} refused a line ({line.status_code}): "
                                   f"{line.text[:200]}")
        body = line.json()
        self.call_id = body["call_id"]
        pin_host_addresses([_local_address(self.host, self.port)])
        self.pc.addTrack(LineMic(self.line))
        self._arrivals = stamp_audio_arrivals(self.pc)
        self.pc.createDataChannel("voxline")
        self.pc.on("track", lambda track: self._tasks.append(
            asyncio.create_task(self._listen(track))))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        ws_url = self.base.replace("http", "ws", 1) + body["signalling"]
        try:
            self._ws = await websockets.connect(ws_url, proxy=None)
        except (OSError, websockets.InvalidHandshake) as err:
            raise UnreachableError(f"signalling {ws_url} failed: {err}") from err
        self._tasks.append(asyncio.create_task(self._read()))
        sdp, candidates = split_candidates(self.pc.localDescription.sdp)
        await self._send({"type": "offer", "sdp": sdp})
        for candidate in candidates:
            await self._send({"type": "candidate", "candidate": candidate, "sdpMid": "0",
                              "sdpMLineIndex": 0})
        await self._send({"type": "end_of_candidates"})
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await self._connected.wait()
        except TimeoutError:
            raise UnreachableError(f"{self.base}: ICE did not connect in {CONNECT_TIMEOUT_S:g} s "
                                   "(no route for media? give an ICE server)") from None
        if self.line.ended.is_set():
            raise UnreachableError(f"{self.base} ended the call while setting it up")
        self.setup_ms = round((time.monotonic() - began) * 1000, 1)

    async def _send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "answer":
                    await self.pc.setRemoteDescription(
                        RTCSessionDescription(message["sdp"], "answer"))
                elif kind == "connected":
                    self._connected.set()
                elif kind == "bye" or (kind == "error" and message.get("fatal")):
                    break
        except websockets.ConnectionClosed:
            pass
        self.line.hang_up_seen("server")
        self._connected.set()  # wakes a dial() still waiting; it sees the call ended

    async def _listen(self, track: MediaStreamTrack) -> None:
        expected: int | None = None
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            arrived = self._arrivals.arrival(frame.pts) if self._arrivals else None
            now = time.monotonic() if arrived is None else arrived
            if expected is not None and frame.pts is not None and frame.pts > expected:
                self.line.sequence_gaps += (frame.pts - expected) // frame.samples
            if frame.pts is not None:
                expected = frame.pts + frame.samples
            self.line.on_agent_audio(mono_pcm16(frame), now)

    async def hang_up(self) -> None:
        if self._ws is not None and not self.line.ended.is_set():
            with contextlib.suppress(websockets.ConnectionClosed):
                await self._send({"type": "hangup"})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self.line.ended.wait()
        await self.close()

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        if self._ws is not None:
            await self._ws.close()
        await self.pc.close()


def _local_address(host: str, port: int) -> str:
    """The local address that reaches `host` (offered as our only host candidate)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as err:
        raise UnreachableError(f"cannot resolve {host}: {err}") from err
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect(addr)
        return probe.getsockname()[0]
