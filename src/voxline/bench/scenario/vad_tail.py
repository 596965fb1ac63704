"""How late the worker's VAD hears a caller line end, computed offline on the same audio.

The caller times `voice_to_voice_ms` from its last sample above −40 dBFS; the worker's
endpoint window starts at the end of the VAD's last voiced frame, which for webrtcvad comes
a little later (the quiet tail of the last word). That tail is fixed per line and VAD, so it
is found here by running the worker's own Twilio inbound path (mu-law decoded, 8 kHz) and
VAD + endpointer over the line, and subtracted with the window: what is left of
voice-to-voice is transport, engine and pacing.
"""

from __future__ import annotations

from pathlib import Path

from voxline.audio.g711 import ulaw_encode
from voxline.audio.wav import read_wav
from voxline.protocols import twilio_media as tm
from voxline.transports.file import last_voiced_sample
from voxline.transports.twilio.audio import CALLER_RATE, CallerAudio
from voxline.vad import Endpoint, Endpointer, EndpointingConfig, detector_for_caller

LEAD_FRAMES = 25  # silence before the line, as on a call between turns
TRAIL_FRAMES = 150


def vad_tail_ms(wav: Path, vad: str, window_ms: int) -> float | None:
    """ms from the line's last sample above −40 dBFS to the end of the last frame the worker's
    VAD calls voiced (None when the VAD never ends the turn)."""
    pcm8 = read_wav(wav, tm.RATE).pcm
    end = last_voiced_sample(pcm8)
    if end is None:
        return None
    step = 2 * tm.FRAME_BYTES
    silence = bytes(step)
    frames = [silence] * LEAD_FRAMES + [pcm8[i:i + step].ljust(step, b"\0")
                                        for i in range(0, len(pcm8), step)]
    frames += [silence] * TRAIL_FRAMES
    inbound = CallerAudio()
    detector = detector_for_caller(vad, CALLER_RATE)
    endpointer = Endpointer(EndpointingConfig(trailing_silence_ms=window_ms))
    for mulaw in (ulaw_encode(f) for f in frames):
        for frame in inbound.push(mulaw):
            for event in endpointer.process(detector.speech_probability(frame)):
                if isinstance(event, Endpoint):
                    caller_end_ms = LEAD_FRAMES * 20 + end / tm.RATE * 1000
                    return round(event.speech_end_ms - caller_end_ms, 1)
    return None
