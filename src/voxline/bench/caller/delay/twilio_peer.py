"""A delay agent behind Twilio's Media Streams protocol: the app's side of the stream
WebSocket (ws://127.0.0.1:PORT/twilio/stream), answering with DelayBrain's tone in paced
20 ms mu-law media messages (sent only while there is tone, as voxline does)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.bench.caller.delay.brain import DelayBrain
from voxline.protocols import twilio_media as tm

FRAME_S = 0.02


@dataclass
class TwilioDelayAgent:
    url: str
    brains: list[DelayBrain] = field(default_factory=list)  # one per call, in order
    stops: int = 0  # stop messages received


@asynccontextmanager
async def twilio_delay_agent(delay_ms: float, stop_ms: float = 0.0,
                             tone_ms: float = 1500.0) -> AsyncIterator[TwilioDelayAgent]:
    agent = TwilioDelayAgent("")

    async def handle(ws: ServerConnection) -> None:
        brain = DelayBrain(tm.RATE, delay_ms, stop_ms, tone_ms)
        agent.brains.append(brain)
        stream_sid = ""
        sender: asyncio.Task[None] | None = None
        try:
            async for message in ws:
                now = time.monotonic()
                event = tm.parse_from_twilio(message)
                if isinstance(event, tm.Start):
                    stream_sid = event.stream_sid
                    sender = asyncio.create_task(_send(ws, brain, stream_sid))
                elif isinstance(event, tm.Media):
                    brain.hear(ulaw_decode(event.payload), now)
                elif isinstance(event, tm.Stop):
                    agent.stops += 1
                    break
        except ConnectionClosed:
            pass
        finally:
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await sender

    async with serve(handle, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        agent.url = f"ws://127.0.0.1:{port}/twilio/stream"
        yield agent


async def _send(ws: ServerConnection, brain: DelayBrain, stream_sid: str) -> None:
    """Paced 20 ms frames; more than a frame behind (a starved loop), the schedule restarts
    from now instead of sending the backlog, so what leaves is always the audio of now."""
    base, tick = time.monotonic(), 0
    while True:
        at = base + tick * FRAME_S
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > FRAME_S:
            base, tick = time.monotonic(), 0
            at = base
        pcm = brain.frame(at)
        if pcm is not None:
            await ws.send(tm.media_to_twilio(stream_sid, ulaw_encode(pcm)))
            brain.sent(at, time.monotonic())
        tick += 1
