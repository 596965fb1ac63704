"""The voice detector interface: one 20 ms PCM16 frame in, a speech probability out."""

from __future__ import annotations

from typing import Protocol


class VoiceDetector(Protocol):
    """A per-call voice activity detector.

    Instances keep per-call state (recurrent state, buffered samples), so each call owns one;
    heavy shared parts (an ONNX session) live elsewhere and are shared.
    """

    rate: int  # sample rate of the frames fed, in Hz

    def speech_probability(self, frame: bytes) -> float:
        """Probability in [0, 1] that this 20 ms mono PCM16 little-endian frame holds speech."""
        ...

    def reset(self) -> None:
        """Forget everything heard so far (a new call, or a new stream)."""
        ...
