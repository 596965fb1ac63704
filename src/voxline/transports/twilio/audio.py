"""Audio both ways between Twilio (G.711 mu-law, 8 kHz) and the turn engine (PCM16, 16 kHz).

The 2:1 rate change uses the half-band converters (audio/halfband.py), not soxr's stream: soxr
hands 8 <-> 16 kHz audio out in ~100 ms bursts, which would add ~66 ms each way to every phone
turn. One converter per direction per call keeps the filter history across 20 ms frames; frame
splitters keep sizes exact whatever size Twilio's payloads come in.
"""

from __future__ import annotations

import numpy as np

from voxline.audio import halfband
from voxline.audio.frames import ENGINE_RATE, FrameSplitter
from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.audio.halfband import Downsampler2x, Upsampler2x
from voxline.audio.pcm import scaled_to_pcm16
from voxline.protocols.twilio_media import RATE

assert ENGINE_RATE == 2 * RATE, "the half-band converters do exactly 2:1"


# mu-law byte -> sample value as a float, from the bit-exact decoder: every inbound phone frame
# goes straight to the upsampler's floats, without a PCM16 round trip.
_ULAW_FLOAT = np.frombuffer(ulaw_decode(bytes(range(256))), dtype="<i2").astype(np.float64)
_TWILIO_FRAME = RATE // 50  # 160 mu-law bytes: Twilio's 20 ms payload
# The half-band filter's polyphase taps, as Upsampler2x.upsample applies them.
_EVEN_HISTORY = len(halfband._H_EVEN) - 1
_EVEN_TAPS_REVERSED = np.ascontiguousarray((2 * halfband._H_EVEN)[::-1])
_MID_TAP = 2 * halfband._H_MID
_CENTRE = _EVEN_HISTORY - halfband.DELAY_16K // 2


class CallerAudio:
    """mu-law payloads from Twilio in, 20 ms PCM16 frames at 16 kHz out (for `Call.receive`)."""

    def __init__(self) -> None:
        self._up = Upsampler2x()
        self._splitter = FrameSplitter(ENGINE_RATE)
        self._frames = _FrameUpsampler()

    def push(self, mulaw: bytes) -> list[bytes]:
        if len(mulaw) == _TWILIO_FRAME and self._splitter.empty:
            # Twilio's 20 ms in, one engine frame out: nothing to split.
            return [self._frames.convert(mulaw, self._up)]
        pcm = scaled_to_pcm16(self._up.upsample(_ULAW_FLOAT[np.frombuffer(mulaw, dtype=np.uint8)]))
        return self._splitter.push(pcm)


class _FrameUpsampler:
    """Upsampler2x.upsample + scaled_to_pcm16 for one 160-byte mu-law frame, with the same output
    to the bit, in preallocated buffers: the general path allocates nine arrays and goes
    through numpy's Python wrappers, which cost more than the arithmetic at this size (every
    inbound frame of every phone call comes through here)."""

    def __init__(self) -> None:
        self._padded = np.empty(_EVEN_HISTORY + _TWILIO_FRAME)
        self._out = np.empty(2 * _TWILIO_FRAME)
        self._even = self._out[0::2]
        self._odd = self._out[1::2]
        self._centre = self._padded[_CENTRE : _CENTRE + _TWILIO_FRAME]
        self._new = self._padded[_EVEN_HISTORY:]

    def convert(self, mulaw: bytes, up: Upsampler2x) -> bytes:
        padded, out = self._padded, self._out
        padded[:_EVEN_HISTORY] = up._history  # the converter's state stays in the Upsampler2x
        _ULAW_FLOAT.take(np.frombuffer(mulaw, dtype=np.uint8), out=self._new)
        up._history = padded[_TWILIO_FRAME:].copy()
        # np.convolve(x, h) is np.correlate(x, h[::-1]); the same product sums, in the same order.
        self._even[:] = np.correlate(padded, _EVEN_TAPS_REVERSED, "valid")
        np.multiply(self._centre, _MID_TAP, out=self._odd)
        np.rint(out, out=out)
        np.minimum(out, 32767, out=out)
        np.maximum(out, -32768, out=out)
        return out.astype("<i2").tobytes()


class AgentAudio:
    """20 ms PCM16 frames at 16 kHz from `Call.next_frame` in, 160-byte mu-law frames out."""

    def __init__(self) -> None:
        self._down = Downsampler2x()
        self._splitter = FrameSplitter(RATE)

    def push(self, pcm16: bytes) -> list[bytes]:
        """Any number of 16 kHz samples in (a batch of frames costs little more than one)."""
        return _encoded_frames(self._splitter.push(self._down.process(pcm16)))

    def flush(self) -> list[bytes]:
        """The agent stopped: what the filter still holds, the last frame padded with silence.
        The converter starts afresh for the next stretch of audio."""
        frames = self._splitter.push(self._down.flush())
        tail = self._splitter.flush()
        if tail is not None:
            frames.append(tail)
        return _encoded_frames(frames)


def _encoded_frames(pcm_frames: list[bytes]) -> list[bytes]:
    """8 kHz PCM16 frames to mu-law frames, in one table lookup (mu-law is a byte a sample)."""
    if not pcm_frames:
        return []
    mulaw = ulaw_encode(b"".join(pcm_frames))
    return [mulaw[i : i + _TWILIO_FRAME] for i in range(0, len(mulaw), _TWILIO_FRAME)]
