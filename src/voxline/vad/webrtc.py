"""WebRTC's GMM voice activity detector (webrtcvad-wheels): 1.0 or 0.0 per 20 ms frame."""

from __future__ import annotations

import webrtcvad

from voxline.errors import ConfigError

_RATES = (8000, 16000, 32000, 48000)


class WebRtcVad:
    """VoiceDetector over ``webrtcvad.Vad``; aggressiveness 0 (least) .. 3 (most filtering)."""

    def __init__(self, aggressiveness: int = 2, rate: int = 16000) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ConfigError(f"webrtc VAD aggressiveness must be 0..3, got {aggressiveness!r}")
        if rate not in _RATES:
            raise ConfigError(f"webrtc VAD needs a rate in {_RATES}, got {rate!r}")
        self.rate = rate
        self.aggressiveness = aggressiveness
        self._frame_bytes = rate // 50 * 2
        self._vad = webrtcvad.Vad(aggressiveness)

    def speech_probability(self, frame: bytes) -> float:
        if len(frame) != self._frame_bytes:
            raise ValueError(
                f"expected one 20 ms PCM16 frame ({self._frame_bytes} bytes at {self.rate} Hz), "
                f"got {len(frame)} bytes"
            )
        return 1.0 if self._vad.is_speech(frame, self.rate) else 0.0

    def reset(self) -> None:
        # webrtcvad has no reset call; a fresh instance costs microseconds.
        self._vad = webrtcvad.Vad(self.aggressiveness)
