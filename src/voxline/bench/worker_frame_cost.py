"""CPU per Twilio call per 20 ms frame in the worker, stage by stage:
`python -m voxline.bench.worker_frame_cost`.

What one `voxline serve` worker does for every 20 ms of every Twilio call, timed in-process with
no sockets (perf_counter_ns over batches of frames, medians of batches):

  ws_receive      the WebSocket frame of one Twilio `media` message parsed the way uvicorn's
                  websockets implementation parses it (websockets' sans-IO Protocol)
  twilio_parse    that message's text to a `Media` event (JSON, base64, fields)
  caller_audio    mu-law -> 8 kHz PCM16 (CallerAudio.push: one table lookup; phone audio stays
                  at 8 kHz in the engine)
  vad_endpointer  webrtcvad on the 8 kHz frame and the endpointing state machine
  engine_to_deepgram  the frame's way from the transport to the Deepgram socket on the
                  worker's loop (uvloop when installed): the Call's inbound queue (transport ->
                  engine task), DeepgramStream.push (replay ring, send batching), its send queue
                  (-> the socket's sender task) and the message framed by websockets' sans-IO
                  client Protocol (masking included); an 80 ms message counts a quarter a frame
  agent_media     20 ms of agent audio to Twilio while the agent speaks, sent as the sender
                  sends it: 100 ms a `media` message (AgentAudio.push on the batch, JSON +
                  base64), not paid while it is silent

The per-stage figures add up to the Python work of one call's frame; what they leave out is the
kernel's side of the sockets (one recv for Twilio, one send per Deepgram message) and uvicorn's
ASGI plumbing. The 50-call scenario (bench/scenarios/cloud-twilio-50.toml) measures the whole.
Results go to bench/results/worker_frame_cost.json; run it under `chrt -r 1` and note the load.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voxline.audio.frames import ENGINE_RATE
from voxline.audio.g711 import ulaw_encode
from voxline.protocols.twilio_media import media_to_twilio, parse_from_twilio, twilio_media
from voxline.transports.twilio.audio import CALLER_RATE, AgentAudio, CallerAudio
from voxline.transports.twilio.sender import FILL_TO_S, FRAME_S, REFILL_BELOW_S

FRAMES = 500  # one batch: 10 s of one call's audio
BATCHES = 30
OUT = Path("bench/results/worker_frame_cost.json")
SID = "MZ" + "0" * 32


def _speechlike(frames: int, rate: int) -> list[bytes]:
    """PCM16 frames of a voiced-like signal (harmonics with a slow envelope, and noise)."""
    rng = np.random.default_rng(7)
    n = frames * rate // 50
    t = np.arange(n) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t)
    signal = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 910), 1))
    pcm = (6000 * envelope * signal + rng.normal(0, 300, n)).astype("<i2").tobytes()
    step = rate // 50 * 2
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


def _per_frame_us(run_batch: Callable[[], None]) -> dict[str, float]:
    run_batch()  # warm caches, first-call imports
    times = []
    for _ in range(BATCHES):
        start = time.perf_counter_ns()
        run_batch()
        times.append((time.perf_counter_ns() - start) / 1000 / FRAMES)
    times.sort()
    return {
        "median_us": round(statistics.median(times), 2),
        "p90_us": round(times[int(0.9 * (len(times) - 1))], 2),
        "min_us": round(times[0], 2),
    }


def _twilio_messages() -> list[str]:
    mulaw = [ulaw_encode(f) for f in _speechlike(FRAMES, 8000)]
    return [twilio_media(i + 2, SID, i + 1, 20 * i, m) for i, m in enumerate(mulaw)]


def stage_ws_receive(messages: list[str]) -> dict[str, float]:
    from websockets.frames import Frame, Opcode
    from websockets.protocol import OPEN, SERVER, Protocol

    # The bytes a client puts on the wire for each message: masked text frames.
    wire = []
    for text in messages:
        frame = Frame(Opcode.TEXT, text.encode())
        wire.append(frame.serialize(mask=True, extensions=[]))

    def batch() -> None:
        proto = Protocol(SERVER, state=OPEN)  # past the handshake
        for data in wire:
            proto.receive_data(data)
            (event,) = proto.events_received()
            event.data.decode()  # uvicorn hands the app a str

    return _per_frame_us(batch)


def stage_twilio_parse(messages: list[str]) -> dict[str, float]:
    def batch() -> None:
        for text in messages:
            parse_from_twilio(text)

    return _per_frame_us(batch)


def stage_caller_audio(messages: list[str]) -> dict[str, float]:
    payloads = [parse_from_twilio(m).payload for m in messages]  # type: ignore[union-attr]
    caller = CallerAudio()

    def batch() -> None:
        for p in payloads:
            caller.push(p)

    return _per_frame_us(batch)


def stage_vad_endpointer(frames: list[bytes]) -> dict[str, float]:
    from voxline.config import Settings
    from voxline.vad import make_detector
    from voxline.vad.endpointing import Endpointer

    settings = Settings()
    vad = make_detector("webrtc", CALLER_RATE)
    endpointer = Endpointer(settings.endpointing.config())

    def batch() -> None:
        for f in frames:
            endpointer.process(vad.speech_probability(f))

    return _per_frame_us(batch)


async def _loop_hops(frames: list[bytes]) -> dict[str, float]:
    """The hand-offs of one frame in the worker, as there: reader -> engine task (the Call's
    inbound queue), DeepgramStream.push, its send queue -> the socket's sender task (which
    frames the message); each frame waits for the next like live audio does."""
    from websockets.protocol import CLIENT, OPEN, Protocol

    from voxline.providers.deepgram import DeepgramStream
    from voxline.session.call import INBOUND_QUEUE_FRAMES

    stream = DeepgramStream(
        "ws://127.0.0.1:9/v1/listen", name="deepgram/bench", api_key="k", rate=CALLER_RATE,
        encoding="linear16", provider_endpointing=False,
    )
    queue = stream._socket._queue
    proto = Protocol(CLIENT, state=OPEN)
    inbound: asyncio.Queue[bytes | None] = asyncio.Queue(INBOUND_QUEUE_FRAMES)
    batch_bytes = sum(map(len, frames))
    done = asyncio.Event()

    async def engine() -> None:
        while (frame := await inbound.get()) is not None:
            stream.push(frame)
        stream._acked = stream._pushed

    async def sender() -> None:
        sent = 0
        while True:
            message = await queue.get()
            proto.send_binary(message)
            proto.data_to_send()
            sent += len(message)
            if sent % batch_bytes == 0:
                stream._acked = stream._pushed  # as Deepgram's finals would
                done.set()

    tasks = [asyncio.create_task(engine()), asyncio.create_task(sender())]
    times = []
    for _ in range(BATCHES + 1):
        done.clear()
        start = time.perf_counter_ns()
        for f in frames:
            inbound.put_nowait(f)
            await asyncio.sleep(0)  # the reader yields to the loop between messages
        stream._send_held()  # the batch's tail, as the next frame would
        await done.wait()
        times.append((time.perf_counter_ns() - start) / 1000 / FRAMES)
    for task in tasks:
        task.cancel()
    times = sorted(times[1:])
    return {"median_us": round(statistics.median(times), 2), "min_us": round(times[0], 2)}


REFILL_BATCH_S = FILL_TO_S - REFILL_BELOW_S  # what one media message carries mid-answer


def stage_agent_media(frames: list[bytes]) -> dict[str, float]:
    audio = AgentAudio()
    step = round(REFILL_BATCH_S / FRAME_S)

    def batch() -> None:
        for i in range(0, len(frames), step):
            media_to_twilio(SID, audio.push(b"".join(frames[i : i + step])))

    return _per_frame_us(batch)


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def main() -> None:
    messages = _twilio_messages()
    frames16 = _speechlike(FRAMES, ENGINE_RATE)
    frames8 = _speechlike(FRAMES, CALLER_RATE)
    loop = _loop()
    stages = {
        "ws_receive": stage_ws_receive(messages),
        "twilio_parse": stage_twilio_parse(messages),
        "caller_audio": stage_caller_audio(messages),
        "vad_endpointer": stage_vad_endpointer(frames8),
        "engine_to_deepgram": loop.run_until_complete(_loop_hops(frames8)),
    }
    inbound_total = sum(s["median_us"] for s in stages.values())
    stages["agent_media"] = stage_agent_media(frames16)
    loop.close()
    result = {
        "benchmark": "worker_frame_cost",
        "what": "CPU per Twilio call per 20 ms frame in the worker, by stage (in-process, no "
                "sockets); inbound_total_us: every stage but agent_media, paid every frame",
        "loop": type(loop).__module__.split(".")[0],
        "frames_per_batch": FRAMES,
        "batches": BATCHES,
        "stages": stages,
        "inbound_total_us": round(inbound_total, 2),
        "load_average": list(os.getloadavg()),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for name, s in stages.items():
        print(f"{name:16s} {s['median_us']:8.2f} us/frame (median of {BATCHES} batches)")
    print(f"{'inbound total':16s} {inbound_total:8.2f} us/frame   load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
