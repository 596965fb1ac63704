"""Audio both ways between Twilio (G.711 mu-law, 8 kHz) and the turn engine (PCM16, 16 kHz).

The 2:1 rate change uses the half-band converters (audio/halfband.py), not soxr's stream: soxr
hands 8 <-> 16 kHz audio out in ~100 ms bursts, which would add ~66 ms each way to every phone
turn. One converter per direction per call keeps the filter history across 20 ms frames; frame
splitters keep sizes exact whatever size Twilio's payloads come in.
"""

from __future__ import annotations

import numpy as np

from voxline.audio.frames import ENGINE_RATE, FrameSplitter
from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.audio.halfband import Downsampler2x, Upsampler2x, pcm16_bytes
from voxline.protocols.twilio_media import RATE

assert ENGINE_RATE == 2 * RATE, "the half-band converters do exactly 2:1"


# mu-law byte -> sample value as a float, from the bit-exact decoder: every inbound phone frame
# goes straight to the upsampler's floats, without a PCM16 round trip.
_ULAW_FLOAT = np.frombuffer(ulaw_decode(bytes(range(256))), dtype="<i2").astype(np.float64)
_TWILIO_FRAME = RATE // 50  # 160 mu-law bytes: Twilio's 20 ms payload


class CallerAudio:
    """mu-law payloads from Twilio in, 20 ms PCM16 frames at 16 kHz out (for `Call.receive`)."""

    def __init__(self) -> None:
        self._up = Upsampler2x()
        self._splitter = FrameSplitter(ENGINE_RATE)

    def push(self, mulaw: bytes) -> list[bytes]:
        pcm = pcm16_bytes(self._up.upsample(_ULAW_FLOAT[np.frombuffer(mulaw, dtype=np.uint8)]))
        if len(mulaw) == _TWILIO_FRAME and self._splitter.empty:
            return [pcm]  # Twilio's 20 ms in, one engine frame out: nothing to split
        return self._splitter.push(pcm)


class AgentAudio:
    """20 ms PCM16 frames at 16 kHz from `Call.next_frame` in, 160-byte mu-law frames out."""

    def __init__(self) -> None:
        self._down = Downsampler2x()
        self._splitter = FrameSplitter(RATE)

    def push(self, pcm16: bytes) -> list[bytes]:
        return [ulaw_encode(f) for f in self._splitter.push(self._down.process(pcm16))]

    def flush(self) -> list[bytes]:
        """The agent stopped: what the filter still holds, the last frame padded with silence.
        The converter starts afresh for the next stretch of audio."""
        frames = self._splitter.push(self._down.flush())
        tail = self._splitter.flush()
        if tail is not None:
            frames.append(tail)
        return [ulaw_encode(f) for f in frames]
