"""Voice activity detection and endpointing.

A ``VoiceDetector`` turns each 20 ms PCM16 frame into a speech probability; an ``Endpointer``
(pure, no clock) turns those probabilities into turn events::

    from voxline.vad import Endpointer, make_detector

    vad, endpointer = make_detector("silero"), Endpointer()
    for frame in frames:  # 640-byte frames, 16 kHz mono PCM16
        for event in endpointer.process(vad.speech_probability(frame)):
            ...  # SpeechStarted, SilenceStarted, SpeechResumed, Endpoint

Engines: ``silero`` (Silero VAD v5 over ONNX Runtime, one shared session per process; the
default) and ``webrtc`` (WebRTC's GMM VAD, 1.0/0.0 per frame; cheaper, less robust to noise).
"""

from __future__ import annotations

from voxline.errors import ConfigError
from voxline.vad.detector import VoiceDetector
from voxline.vad.endpointing import (
    Endpoint,
    Endpointer,
    EndpointEvent,
    EndpointingConfig,
    SilenceStarted,
    SpeechResumed,
    SpeechStarted,
)

DETECTORS = ("silero", "webrtc")

__all__ = [
    "DETECTORS",
    "Endpoint",
    "EndpointEvent",
    "Endpointer",
    "EndpointingConfig",
    "SilenceStarted",
    "SpeechResumed",
    "SpeechStarted",
    "VoiceDetector",
    "detector_for_caller",
    "make_detector",
]


def detector_for_caller(name: str, rate: int) -> VoiceDetector:
    """The detector a call's engine runs on caller audio at `rate`: as `make_detector`, except
    that Silero hears telephone audio on its 16 kHz model (vad/upsampled.py says why)."""
    if name == "silero" and rate == 8000:
        from voxline.vad.upsampled import UpsampledDetector

        return UpsampledDetector(make_detector(name, 16000))
    return make_detector(name, rate)


def make_detector(name: str, rate: int = 16000) -> VoiceDetector:
    """A fresh per-call detector by name: "silero" or "webrtc"."""
    # Imported here so that using one engine never imports the other's runtime.
    if name == "silero":
        from voxline.vad.silero import SileroVad, shared_silero_model

        return SileroVad(shared_silero_model(), rate=rate)
    if name == "webrtc":
        from voxline.vad.webrtc import WebRtcVad

        return WebRtcVad(rate=rate)
    raise ConfigError(f"unknown VAD {name!r}; valid choices: {', '.join(DETECTORS)}")
