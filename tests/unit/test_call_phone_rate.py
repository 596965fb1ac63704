"""Phone audio stays at 8 kHz into the turn engine: webrtcvad and the STT stream take it as it is,
Whisper gets it upsampled, and a recording still holds both sides at 16 kHz."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voxline.config import PrivacySettings, Settings
from voxline.errors import ProviderError
from voxline.privacy.recording import recording_path
from voxline.providers.base import Transcript
from voxline.providers.local.telephone_rate import at_engine_rate
from voxline.providers.registry import Providers
from voxline.session.call import Call


def tone(rate: int, ms: int, hz: float = 440.0) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * hz * t) * 8000).astype("<i2").tobytes()


class SeenSTT:
    """An STT provider that keeps the rate it was opened at and the frames it was pushed."""

    name = "test/seen"

    def __init__(self) -> None:
        self.rates: list[int] = []
        self.frames: list[bytes] = []

    async def open_stream(self, rate: int):
        self.rates.append(rate)
        return self

    def push(self, frame: bytes) -> None:
        self.frames.append(frame)

    def begin_utterance(self, started_ms_ago: float) -> None:
        pass

    def end_utterance(self) -> None:
        pass

    async def transcribe(self) -> Transcript:
        return Transcript("")

    async def aclose(self) -> None:
        pass


class SilentLLM:
    name = "test/llm"

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def phone_call(stt: SeenSTT, settings: Settings | None = None) -> Call:
    providers = Providers(stt, SilentLLM(), None)  # type: ignore[arg-type]
    return Call(providers, settings or Settings(), transport="test", caller_rate=8000)


async def test_a_phone_call_feeds_vad_and_stt_at_8k():
    stt = SeenSTT()
    call = phone_call(stt)
    assert call._vad.rate == 8000  # the configured VAD, built for telephone audio
    task = asyncio.create_task(call.run())
    frames = [tone(8000, 1000)[i : i + 320] for i in range(0, 16000, 320)]
    for frame in frames:
        call.receive(frame)
    await asyncio.sleep(0.1)
    call.hang_up()
    await task
    assert stt.rates == [8000]
    assert stt.frames == frames  # as they came: nothing resampled on the way


def test_the_engine_refuses_a_caller_rate_it_cannot_hear():
    with pytest.raises(ValueError, match="11025 Hz"):
        Call(Providers(SeenSTT(), SilentLLM(), None), Settings(),  # type: ignore[arg-type]
             transport="test", caller_rate=11025)


def test_a_phone_call_is_recorded_at_16k_on_both_sides(tmp_path):
    settings = Settings(privacy=PrivacySettings(recording="wav", recordings_dir=tmp_path))
    call = phone_call(SeenSTT(), settings)
    caller = tone(8000, 1000)
    for i in range(0, len(caller), 320):
        call.receive(caller[i : i + 320])
        call.next_frame()  # the agent's silence keeps the two tracks side by side
    assert call.recording is not None
    done = call.recording.close()
    if done is not None:
        done.result(timeout=5)
    data = recording_path(tmp_path, call.call_id, encrypted=False).read_bytes()
    stereo = np.frombuffer(data[44:], dtype="<i2").reshape(-1, 2)
    assert stereo.shape[0] == 16000  # one second at 16 kHz
    heard = stereo[2000:14000, 0].astype(np.float64)
    assert np.sqrt(np.mean(heard**2)) == pytest.approx(8000 / np.sqrt(2), rel=0.05)
    spectrum = np.abs(np.fft.rfft(heard))
    assert np.argmax(spectrum) * 16000 / len(heard) == pytest.approx(440, abs=2)
    assert not stereo[:, 1].any()


async def test_whisper_streams_take_phone_audio_upsampled_and_refuse_other_rates():
    inner = SeenSTT()
    stream = at_engine_rate(inner, 8000, "local/whisper")
    stream.push(tone(8000, 20))
    assert [len(f) for f in inner.frames] == [640]  # 20 ms at 16 kHz, at once
    assert at_engine_rate(inner, 16000, "local/whisper") is inner
    with pytest.raises(ProviderError, match="44100"):
        at_engine_rate(inner, 44100, "local/whisper")


def test_silero_hears_phone_audio_on_its_16k_model_and_webrtcvad_as_it_comes():
    from voxline.audio.halfband import Upsampler2x
    from voxline.vad import detector_for_caller, make_detector
    from voxline.vad.webrtc import WebRtcVad

    phone = detector_for_caller("silero", 8000)
    direct, up = make_detector("silero", 16000), Upsampler2x()
    assert phone.rate == 8000
    speech = tone(8000, 600, hz=220.0)
    frames = [speech[i : i + 320] for i in range(0, len(speech), 320)]
    assert [phone.speech_probability(f) for f in frames] == [
        direct.speech_probability(up.process(f)) for f in frames]
    webrtc = detector_for_caller("webrtc", 8000)
    assert isinstance(webrtc, WebRtcVad) and webrtc.rate == 8000
