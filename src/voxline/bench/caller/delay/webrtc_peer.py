"""A delay agent behind voxline's WebRTC signalling: POST /webrtc/calls, the signalling
WebSocket, an aiortc answerer whose audio track plays DelayBrain's tone (48 kHz, paced by the
track's absolute schedule) and whose received track feeds the brain."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from voxline.bench.caller.delay.brain import DelayBrain
from voxline.testing.asgi_server import serving
from voxline.transports.webrtc.av_frames import audio_frame, mono_pcm16
from voxline.transports.webrtc.receive_hold import shorten_audio_hold

RATE = 48000
FRAME_S = 0.02


class _ToneTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, brain: DelayBrain) -> None:
        super().__init__()
        self.brain = brain
        self._base: float | None = None
        self._n = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._base is None:
            self._base = time.monotonic()
        at = self._base + self._n * FRAME_S
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pcm = self.brain.frame(at)
        if pcm is not None:
            self.brain.sent(at, time.monotonic())
        frame = audio_frame(pcm or bytes(2 * RATE // 50), RATE, self._n * RATE // 50)
        frame.time_base = fractions.Fraction(1, RATE)
        self._n += 1
        return frame


@dataclass
class WebRTCDelayAgent:
    url: str = ""
    brains: list[DelayBrain] = field(default_factory=list)
    hangups: int = 0


@asynccontextmanager
async def webrtc_delay_agent(delay_ms: float, stop_ms: float = 0.0,
                             tone_ms: float = 1500.0) -> AsyncIterator[WebRTCDelayAgent]:
    agent = WebRTCDelayAgent()
    tasks: set[asyncio.Task[None]] = set()

    async def create_call(request: Request) -> JSONResponse:
        call_id = uuid.uuid4().hex[:12]
        return JSONResponse({"call_id": call_id, "signalling": f"/webrtc/ws?call_id={call_id}"},
                            status_code=201)

    async def listen(track: MediaStreamTrack, brain: DelayBrain) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                brain.hear(mono_pcm16(frame), time.monotonic())

    async def signalling(ws: WebSocket) -> None:
        await ws.accept()
        brain = DelayBrain(RATE, delay_ms, stop_ms, tone_ms)
        agent.brains.append(brain)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(_ToneTrack(brain))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            task = asyncio.create_task(listen(track, brain))
            tasks.add(task)

        @pc.on("iceconnectionstatechange")
        async def on_ice() -> None:
            if pc.iceConnectionState in ("connected", "completed"):
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await ws.send_text(json.dumps({"type": "connected", "setup_ms": 0}))

        try:
            while True:
                message = json.loads(await ws.receive_text())
                if message["type"] == "offer":
                    await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
                    shorten_audio_hold(pc)  # hears the caller as voxline's server does
                    await pc.setLocalDescription(await pc.createAnswer())
                    await ws.send_text(json.dumps({"type": "answer",
                                                   "sdp": pc.localDescription.sdp}))
                elif message["type"] == "candidate" and message["candidate"]:
                    candidate = candidate_from_sdp(message["candidate"].removeprefix("candidate:"))
                    candidate.sdpMid, candidate.sdpMLineIndex = "0", 0
                    await pc.addIceCandidate(candidate)
                elif message["type"] == "hangup":
                    agent.hangups += 1
                    await ws.send_text(json.dumps({"type": "bye", "reason": "hangup"}))
                    break
        except WebSocketDisconnect:
            pass
        finally:
            await pc.close()
            with contextlib.suppress(RuntimeError):
                await ws.close()

    app = Starlette(routes=[Route("/webrtc/calls", create_call, methods=["POST"]),
                            WebSocketRoute("/webrtc/ws", signalling)])
    async with serving(app) as base:
        agent.url = base
        try:
            yield agent
        finally:
            for task in tasks:
                task.cancel()
