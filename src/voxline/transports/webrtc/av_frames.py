"""PCM16 bytes <-> PyAV audio frames, the unit aiortc's Opus codec takes and gives.

aiortc decodes Opus to 48 kHz packed s16 stereo (a mono browser track arrives as two equal
channels) and encodes from s16 mono or stereo. The engine wants mono, so inbound keeps the
first channel; summing would only double a duplicated signal and cost a float conversion.
"""

from __future__ import annotations

import fractions

import av
import numpy as np

from voxline.audio.frames import SAMPLE_WIDTH


def mono_pcm16(frame: av.AudioFrame) -> bytes:
    """The first channel of a decoded frame as PCM16 mono bytes."""
    if frame.format.name == "s16":  # packed: L R L R ...
        channels = len(frame.layout.channels)
        samples = np.frombuffer(frame.planes[0], dtype=np.int16)[: frame.samples * channels]
        return samples[::channels].tobytes() if channels > 1 else samples.tobytes()
    if frame.format.name == "s16p":  # planar: one plane per channel
        return bytes(frame.planes[0])[: frame.samples * SAMPLE_WIDTH]
    raise ValueError(f"expected s16 or s16p audio from the decoder, got {frame.format.name}")


def audio_frame(pcm16: bytes, rate: int, pts: int) -> av.AudioFrame:
    """One mono s16 frame carrying `pcm16`, stamped `pts` in 1/rate units."""
    if len(pcm16) % SAMPLE_WIDTH:
        raise ValueError(f"PCM16 needs an even byte count, got {len(pcm16)}")
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm16) // SAMPLE_WIDTH)
    frame.planes[0].update(pcm16)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, rate)
    return frame
