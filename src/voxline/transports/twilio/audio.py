"""Audio both ways between Twilio (G.711 mu-law, 8 kHz) and the turn engine (PCM16, 16 kHz).

One resampler per direction per call, so the filter state carries across 20 ms frames (a fresh
one per frame would click at every frame edge); frame splitters keep the sizes exact whatever
size Twilio's payloads or the engine's frames come in.
"""

from __future__ import annotations

from voxline.audio.frames import ENGINE_RATE, FrameSplitter
from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.audio.resample import StreamResampler
from voxline.protocols.twilio_media import RATE


class CallerAudio:
    """mu-law payloads from Twilio in, 20 ms PCM16 frames at 16 kHz out (for `Call.receive`)."""

    def __init__(self) -> None:
        self._resampler = StreamResampler(RATE, ENGINE_RATE)
        self._splitter = FrameSplitter(ENGINE_RATE)

    def push(self, mulaw: bytes) -> list[bytes]:
        return self._splitter.push(self._resampler.process(ulaw_decode(mulaw)))


class AgentAudio:
    """20 ms PCM16 frames at 16 kHz from `Call.next_frame` in, 160-byte mu-law frames out."""

    def __init__(self) -> None:
        self._resampler = StreamResampler(ENGINE_RATE, RATE)
        self._splitter = FrameSplitter(RATE)

    def push(self, pcm16: bytes) -> list[bytes]:
        return [ulaw_encode(f) for f in self._splitter.push(self._resampler.process(pcm16))]

    def flush(self) -> list[bytes]:
        """The agent stopped: what the filter still holds, the last frame padded with silence.
        The resampler starts afresh for the next run of audio."""
        frames = self._splitter.push(self._resampler.flush())
        tail = self._splitter.flush()
        if tail is not None:
            frames.append(tail)
        return [ulaw_encode(f) for f in frames]
