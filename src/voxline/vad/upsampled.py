"""Telephone audio (8 kHz) for a detector that runs at 16 kHz, upsampled frame by frame.

Phone calls hand the engine 8 kHz frames. webrtcvad takes them as they are (it works at 8 kHz
inside whatever it is fed). Silero is kept on its 16 kHz model: the 900 ms endpoint window was
chosen on it (docs/endpointing.md), and on the bench's phone lines its 8 kHz model heard line
ends up to 40 ms later. Silero costs ~150 µs a frame, so the filter's ~20 µs is small beside it.
"""

from __future__ import annotations

from voxline.audio.halfband import Upsampler2x
from voxline.vad.detector import VoiceDetector


class UpsampledDetector:
    """A VoiceDetector for 8 kHz frames around one that takes 16 kHz."""

    def __init__(self, inner: VoiceDetector) -> None:
        if inner.rate != 16000:
            raise ValueError(f"the inner detector must take 16000 Hz, not {inner.rate}")
        self._inner = inner
        self._up = Upsampler2x()
        self.rate = 8000

    def speech_probability(self, frame: bytes) -> float:
        return self._inner.speech_probability(self._up.process(frame))

    def reset(self) -> None:
        self._inner.reset()
        self._up = Upsampler2x()
