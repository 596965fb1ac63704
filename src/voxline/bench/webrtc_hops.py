"""Where the few ms of a WebRTC turn's transport go: each hop of one packet, timed.

    python -m voxline.bench.webrtc_hops --out bench/results/webrtc_hops.json [--seconds 20]

Two aiortc peers on loopback, wired as a voxline call is: the caller's mic (paced 20 ms
frames) into the server's receiver (InOrderJitterBuffer) and CallerAudio (3:1 FIR to 16 kHz
engine frames), and the server's AgentAudioTrack (3:1 FIR to 48 kHz, paced) back into the
caller's receiver (StampedArrivals). Every packet is stamped with time.monotonic() at:

    in:  mic frame handed to aiortc's sender -> packet at the server's jitter buffer
         (encode on the executor, SRTP, UDP) -> engine frame out of CallerAudio (decoder
         thread, its hand-back to the loop, the FIR)
    out: agent frame returned by the track to aiortc's sender -> packet at the caller's buffer
         (encode on the executor, SRTP, UDP)

Both peers share this process's one loop and GIL, as the worker's many calls share its own;
the worker and the bench's caller are separate processes, so each hop here errs high, not low.
Frames are matched by their position (the n-th frame sent is the n-th received: loopback, no
loss, checked by counting).
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from voxline.bench.caller.webrtc_arrivals import StampedArrivals, stamp_audio_arrivals
from voxline.bench.turns import summarize
from voxline.transports.webrtc.av_frames import audio_frame
from voxline.transports.webrtc.in_order_buffer import InOrderJitterBuffer
from voxline.transports.webrtc.inbound import CallerAudio
from voxline.transports.webrtc.outbound import AgentAudioTrack
from voxline.transports.webrtc.receive_hold import shorten_audio_hold

RATE = 48000
FRAME_S = 0.02


class _StampedServerBuffer(InOrderJitterBuffer):
    def __init__(self, capacity: int = 16) -> None:
        super().__init__(capacity)
        self.added: list[float] = []

    def add(self, packet):
        self.added.append(time.monotonic())
        return super().add(packet)


class _PacedMic(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[float] = []
        self._start: float | None = None
        noise = (np.random.default_rng(1).standard_normal(RATE // 50) * 2000).astype(np.int16)
        self._pcm = noise.tobytes()  # not silence: Opus codes digital silence specially

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        self._start = self._start or now
        n = len(self.sent)
        delay = self._start + n * FRAME_S - now
        if delay > 0:
            await asyncio.sleep(delay)
        frame = audio_frame(self._pcm, RATE, n * RATE // 50)
        frame.time_base = fractions.Fraction(1, RATE)
        self.sent.append(time.monotonic())
        return frame


class _StampedAgentTrack(AgentAudioTrack):
    def __init__(self, frame16: bytes) -> None:
        super().__init__(lambda: frame16)
        self.handed: list[float] = []

    async def recv(self):
        frame = await super().recv()
        self.handed.append(time.monotonic())
        return frame


async def measure(seconds: float) -> dict[str, Any]:
    caller = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    mic = _PacedMic()
    tone16 = (np.sin(np.arange(320) * 0.3) * 3000).astype(np.int16).tobytes()
    agent = _StampedAgentTrack(tone16)
    engine: list[float] = []
    pumps: list[asyncio.Task[None]] = []

    def on_track(track) -> None:
        pump = CallerAudio(track, lambda _frame: engine.append(time.monotonic()))
        pumps.append(asyncio.ensure_future(pump.run()))

    server.on("track", on_track)
    caller.addTrack(mic)
    arrivals: StampedArrivals | None = stamp_audio_arrivals(caller)
    await caller.setLocalDescription(await caller.createOffer())
    await server.setRemoteDescription(caller.localDescription)
    (server_buffer,) = shorten_audio_hold(server, _StampedServerBuffer)
    server.addTrack(agent)
    await server.setLocalDescription(await server.createAnswer())
    await caller.setRemoteDescription(server.localDescription)
    caller_added: list[float] = []
    assert arrivals is not None
    original_add = arrivals.add

    def stamped_add(packet):
        caller_added.append(time.monotonic())
        return original_add(packet)

    arrivals.add = stamped_add  # type: ignore[method-assign]
    drain = asyncio.ensure_future(_drain(caller.getReceivers()[0].track))  # keep it read
    await asyncio.sleep(seconds)
    await caller.close()
    await server.close()
    for task in (*pumps, drain):
        task.cancel()
    assert isinstance(server_buffer, _StampedServerBuffer)
    n_in = min(len(mic.sent), len(server_buffer.added), len(engine))
    n_out = min(len(agent.handed), len(caller_added))
    skip = 25  # the first half second: ICE/DTLS settling, the decoder's start
    wire_in = [(server_buffer.added[i] - mic.sent[i]) * 1000 for i in range(skip, n_in)]
    to_engine = [(engine[i] - server_buffer.added[i]) * 1000 for i in range(skip, n_in)]
    wire_out = [(caller_added[i] - agent.handed[i]) * 1000 for i in range(skip, n_out)]
    return {
        "frames": {"mic_sent": len(mic.sent), "server_added": len(server_buffer.added),
                   "engine_frames": len(engine), "agent_handed": len(agent.handed),
                   "caller_added": len(caller_added), "server_lost": server_buffer.lost},
        "mic_to_server_buffer_ms": summarize(wire_in),
        "server_buffer_to_engine_ms": summarize(to_engine),
        "agent_track_to_caller_buffer_ms": summarize(wire_out),
    }


async def _drain(track) -> None:
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/webrtc_hops.json"))
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    load_before = os.getloadavg()
    figures = asyncio.run(measure(args.seconds))
    result = {"benchmark": "webrtc_hops", "seconds": args.seconds,
              "machine": platform.machine(), "cpus": os.cpu_count(),
              "load_avg_before": [round(x, 2) for x in load_before],
              "load_avg_after": [round(x, 2) for x in os.getloadavg()], **figures}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
