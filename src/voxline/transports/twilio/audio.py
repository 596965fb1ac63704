"""Audio both ways between Twilio (G.711 mu-law, 8 kHz) and the turn engine.

Caller audio stays at 8 kHz: it is decoded to PCM16 and handed to a `Call` opened with
`caller_rate=8000` (the VADs and STT providers take telephone audio as it is). Agent audio comes
from the engine at 16 kHz; the half-band downsampler (audio/halfband.py) takes it to 8 kHz with
1.9 ms of delay and no bursts (soxr's stream would hand out ~100 ms at a time). Frame splitters
keep sizes exact whatever size Twilio's payloads come in.
"""

from __future__ import annotations

from voxline.audio.frames import ENGINE_RATE, FrameSplitter
from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.audio.halfband import Downsampler2x
from voxline.protocols.twilio_media import RATE

assert ENGINE_RATE == 2 * RATE, "the half-band converter does exactly 2:1"

CALLER_RATE = RATE  # what `CallerAudio` hands the engine
FRAME_BYTES = RATE // 50  # 160 mu-law bytes: 20 ms, Twilio's own payload size


class CallerAudio:
    """mu-law payloads from Twilio in, 20 ms PCM16 frames at 8 kHz out (for `Call.receive`)."""

    def __init__(self) -> None:
        self._splitter = FrameSplitter(CALLER_RATE)

    def push(self, mulaw: bytes) -> list[bytes]:
        if len(mulaw) == FRAME_BYTES and self._splitter.empty:
            return [ulaw_decode(mulaw)]  # Twilio's 20 ms in, one frame out: nothing to split
        return self._splitter.push(ulaw_decode(mulaw))


class AgentAudio:
    """20 ms PCM16 frames at 16 kHz from `Call.next_frame` in, mu-law out: the bytes of whole
    20 ms frames (FRAME_BYTES each), ready to go in one `media` message."""

    def __init__(self) -> None:
        self._down = Downsampler2x()
        self._splitter = FrameSplitter(RATE)

    def push(self, pcm16: bytes) -> bytes:
        """Any number of 16 kHz samples in (a batch of frames costs little more than one)."""
        return ulaw_encode(b"".join(self._splitter.push(self._down.process(pcm16))))

    def flush(self) -> bytes:
        """The agent stopped: what the filter still holds, the last frame padded with silence.
        The converter starts afresh for the next stretch of audio."""
        frames = self._splitter.push(self._down.flush())
        tail = self._splitter.flush()
        if tail is not None:
            frames.append(tail)
        return ulaw_encode(b"".join(frames))
