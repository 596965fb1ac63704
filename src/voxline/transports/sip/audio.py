"""G.711 at 8 kHz on the wire; the caller's audio stays at 8 kHz into the turn engine (a `Call`
opened with `caller_rate=WIRE_RATE`), the agent's comes out of it at 16 kHz.

The agent's side goes through a 2:1 half-band downsampler per call (the filter state carries
across 20 ms frames; audio/halfband.py: one frame in, one frame out, 1.9 ms of filter delay,
where soxr's stream resampler handed 8 <-> 16 kHz out in ~100 ms bursts and cost ~250 ms of
voice-to-voice over a call; docs/BENCHMARKS.md). Frame splitters keep the sizes exact whatever
packet sizes the caller sends.
"""

from __future__ import annotations

from voxline.audio.frames import FrameSplitter
from voxline.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voxline.audio.halfband import Downsampler2x

WIRE_RATE = 8000
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz
_CODECS = {"PCMU": (ulaw_encode, ulaw_decode), "PCMA": (alaw_encode, alaw_decode)}


class G711:
    def __init__(self, codec: str) -> None:
        if codec not in _CODECS:
            raise ValueError(f"codec {codec!r} is not one of {sorted(_CODECS)}")
        self.name = codec
        self.encode, self.decode = _CODECS[codec]
        # What digital silence encodes to: sent while the agent is quiet (comfort silence).
        self.silence = self.encode(bytes(2 * SAMPLES_PER_PACKET))


class ToEngine:
    """Decoded 8 kHz PCM as packets arrive in, 20 ms 8 kHz frames for `Call.receive` out."""

    def __init__(self) -> None:
        self._splitter = FrameSplitter(WIRE_RATE)

    def push(self, pcm8k: bytes) -> list[bytes]:
        return self._splitter.push(pcm8k)


class ToWire:
    """20 ms 16 kHz frames from `Call.next_frame` in, 160-sample G.711 payloads out."""

    def __init__(self, codec: G711) -> None:
        self.codec = codec
        self._resampler = Downsampler2x()
        self._splitter = FrameSplitter(WIRE_RATE)

    def push(self, pcm16k: bytes) -> list[bytes]:
        return [self.codec.encode(f)
                for f in self._splitter.push(self._resampler.process(pcm16k))]

    def flush(self) -> list[bytes]:
        """The agent went quiet: what the filter still holds, padded to a whole packet."""
        frames = self._splitter.push(self._resampler.flush())
        tail = self._splitter.flush()
        if tail is not None:
            frames.append(tail)
        return [self.codec.encode(f) for f in frames]
