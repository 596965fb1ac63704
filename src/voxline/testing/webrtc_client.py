"""A scripted WebRTC caller built on aiortc: the browser page's protocol, without a browser.

It does what the page does (hold a line, offer with a mic track and the "voxline" data
channel, trickle its candidates one message each, time voice-to-voice from audio and report it
on the data channel) and keeps everything it saw for a test to assert on. aiortc puts every
candidate in its offer; this caller takes them out and trickles them instead, so the server's
trickle path is what connects the call.

Agent audio is timed when its packet arrived (bench/caller/webrtc_arrivals.py), not after
aiortc's four-packet receive hold; the mic keeps when it handed each frame to aiortc's sender
(`sent_at`), so a bench can time the endpoint from the packet that completed it.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from voxline.audio.frames import FRAME_MS, frames_of
from voxline.bench.caller.webrtc import split_candidates
from voxline.bench.caller.webrtc_arrivals import StampedArrivals, stamp_audio_arrivals
from voxline.transports.webrtc.av_frames import audio_frame, mono_pcm16
from voxline.transports.webrtc.host_candidates import pin_host_addresses

RATE = 48000
# -40 dBFS over 5 ms windows: the floor the file caller and the page use too.
FLOOR = 10 ** (-40 / 20) * 32768
WINDOW = RATE * 5 // 1000
SENDS_KEPT = 1500  # send times of the newest 30 s of frames


def voiced_windows(pcm: bytes) -> np.ndarray:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    usable = len(samples) // WINDOW * WINDOW
    if not usable:
        return np.zeros(0, dtype=bool)
    return np.sqrt(np.mean(samples[:usable].reshape(-1, WINDOW) ** 2, axis=1)) > FLOOR


class ScriptedMic(MediaStreamTrack):
    """Plays 48 kHz PCM16 once in paced 20 ms frames, then silence; notes when voice ended.
    `say(pcm)` speaks more from the next frame on (to answer, or to talk over the agent)."""

    kind = "audio"

    def __init__(self, pcm48: bytes) -> None:
        super().__init__()
        self._frames: list[bytes] = []
        self._last_voiced_frame: int | None = None
        self._n = 0
        self.say(pcm48)
        self._start: float | None = None
        self.voice_ended_at: float | None = None  # time.monotonic() of the last voiced frame
        self.voiced_frame: int | None = None  # index of the frame that held the last voice
        self._sent_at: deque[float] = deque(maxlen=SENDS_KEPT)  # frame n - len .. n - 1

    def sends_from(self, frame: int, count: int) -> list[float]:
        """When frames `frame`, `frame` + 1, ... (at most `count`) were handed to the sender."""
        first = self._n - len(self._sent_at)
        if frame < first:
            return []
        return list(self._sent_at)[frame - first : frame - first + count]

    def say(self, pcm48: bytes) -> None:
        start = max(self._n, len(self._frames))
        self._frames[len(self._frames) :] = [bytes(RATE // 50 * 2)] * (start - len(self._frames))
        self._frames += frames_of(pcm48, RATE)
        voiced = np.nonzero(voiced_windows(pcm48))[0]
        if len(voiced):
            self._last_voiced_frame = start + int(voiced[-1] * 5 // FRAME_MS)
            self.voice_ended_at = None

    async def recv(self):  # -> av.AudioFrame
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        delay = self._start + self._n * FRAME_MS / 1000 - now
        if delay > 0:
            await asyncio.sleep(delay)
        pcm = self._frames[self._n] if self._n < len(self._frames) else bytes(RATE // 50 * 2)
        frame = audio_frame(pcm, RATE, self._n * RATE // 50)
        frame.time_base = fractions.Fraction(1, RATE)
        now = time.monotonic()
        if self._n == self._last_voiced_frame:
            self.voice_ended_at = now + FRAME_MS / 1000
            self.voiced_frame = self._n
        self._sent_at.append(now)
        self._n += 1
        return frame


@dataclass
class CallLog:
    call_id: str | None = None
    answer_sdp: str = ""
    signalling: list[dict[str, Any]] = field(default_factory=list)  # server -> caller
    channel: list[dict[str, Any]] = field(default_factory=list)  # data channel messages
    trickled: int = 0
    agent_pcm: bytearray = field(default_factory=bytearray)  # received agent audio, 48 kHz
    agent_voiced_ms: float = 0.0
    agent_loud: list[tuple[float, bool]] = field(default_factory=list)  # (arrival, voiced) per frame
    agent_frames: list[tuple[float, bool]] = field(default_factory=list)  # (arrival, not all zero)
    # Arrival of the first packet of each stretch of agent audio (any sample not zero) after
    # digital silence: the agent's track sends zeros while it is quiet.
    media_onsets: list[float] = field(default_factory=list)
    barge_in_at: float | None = None  # when the data channel said barge_in
    voice_to_voice_ms: float | None = None

    def first_media_after(self, at: float) -> float | None:
        """Arrival of the first packet of agent audio that began a stretch at or after `at`."""
        return next((t for t in self.media_onsets if t >= at), None)

    def of_type(self, kind: str, source: str = "channel") -> list[dict[str, Any]]:
        return [m for m in getattr(self, source) if m.get("type") == kind]


class ScriptedCaller:
    def __init__(self, base_url: str, pcm48: bytes) -> None:
        self.base_url = base_url
        self.mic = ScriptedMic(pcm48)
        self.log = CallLog()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never Google's STUN
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._media: asyncio.Task[None] | None = None
        self.arrivals: StampedArrivals | None = None
        self._agent_quiet = True  # the last agent frame was all zeros
        self.closed = asyncio.Event()

    async def hold_line(self) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            return await http.post("/webrtc/calls")

    async def start(self) -> None:
        line = await self.hold_line()
        line.raise_for_status()
        body = line.json()
        self.log.call_id = body["call_id"]
        pin_host_addresses(["127.0.0.1"])
        self.pc.addTrack(self.mic)
        self.arrivals = stamp_audio_arrivals(self.pc)  # no receive hold; packets timed
        channel = self.pc.createDataChannel("voxline")
        channel.on("message", self._on_channel)
        self._channel = channel
        self.pc.on("track", self._on_track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        ws_url = self.base_url.replace("http", "ws", 1) + body["signalling"]
        self._ws = await websockets.connect(ws_url)
        sdp, candidates = split_candidates(self.pc.localDescription.sdp)
        await self.send({"type": "offer", "sdp": sdp})
        for candidate in candidates:
            await self.send({"type": "candidate", "candidate": candidate, "sdpMid": "0"})
            self.log.trickled += 1
        await self.send({"type": "end_of_candidates"})
        self._reader = asyncio.create_task(self._read())

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def wait_for(self, predicate, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.log):
                return True
            await asyncio.sleep(0.05)
        return predicate(self.log)

    async def packets_lost_at_server(self) -> int | None:
        """The mic's packets the server has reported lost so far (RTCP receiver reports, sent
        every 0.5-1.5 s; None before the first)."""
        stats = await self.pc.getStats()
        lost = [s.packetsLost for s in stats.values() if s.type == "remote-inbound-rtp"]
        return sum(lost) if lost else None

    async def hang_up(self) -> None:
        await self.send({"type": "hangup"})
        await asyncio.wait_for(self.closed.wait(), 10)

    async def close_signalling(self) -> None:
        """Drop the signalling socket only, as a closed tab does; media keeps flowing."""
        await self._ws.close()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        await self.pc.close()
        for task in (self._reader, self._media):
            if task is not None:
                task.cancel()

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                self.log.signalling.append(message)
                if message["type"] == "answer":
                    self.log.answer_sdp = message["sdp"]
                    await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def _on_channel(self, raw: str) -> None:
        message = json.loads(raw)
        self.log.channel.append(message)
        if message.get("type") == "barge_in" and self.log.barge_in_at is None:
            self.log.barge_in_at = time.monotonic()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._media = asyncio.create_task(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            pcm = mono_pcm16(frame)
            arrived = self.arrivals.arrival(frame.pts) if self.arrivals else None
            if arrived is None:
                arrived = time.monotonic()
            self.log.agent_pcm += pcm
            quiet = not np.frombuffer(pcm, dtype=np.int16).any()
            if self._agent_quiet and not quiet:
                self.log.media_onsets.append(arrived)
            self._agent_quiet = quiet
            self.log.agent_frames.append((arrived, not quiet))
            voiced = voiced_windows(pcm)
            self.log.agent_voiced_ms += float(voiced.sum()) * 5
            self.log.agent_loud.append((arrived, bool(voiced.any())))
            if voiced.any() and self.log.voice_to_voice_ms is None and self.mic.voice_ended_at:
                at = arrived + int(np.argmax(voiced)) * 5 / 1000
                self.log.voice_to_voice_ms = round((at - self.mic.voice_ended_at) * 1000, 1)
                if self._channel.readyState == "open":
                    ms = self.log.voice_to_voice_ms
                    self._channel.send(json.dumps({"type": "voice_to_voice", "ms": ms}))

