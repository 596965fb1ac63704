"""VAD engines on real audio: Piper-synthesized speech, digital silence, white noise."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from voxline.errors import ConfigError
from voxline.vad import make_detector
from voxline.vad.silero import SileroModel, SileroVad, shared_silero_model
from voxline.vad.webrtc import WebRtcVad

SENTENCE = "I'd like to book a cleaning for next Tuesday afternoon, if the doctor is free."
LEAD = TAIL = 0.6  # seconds of digital silence around the speech


def frames(audio: np.ndarray, rate: int) -> list[bytes]:
    n = rate // 50
    return [audio[i : i + n].tobytes() for i in range(0, len(audio) - n + 1, n)]


def run(vad, audio: np.ndarray) -> np.ndarray:
    return np.array([vad.speech_probability(f) for f in frames(audio, vad.rate)])


@pytest.fixture(scope="module")
def speech() -> dict[int, np.ndarray]:
    """The sentence at 16 kHz and 8 kHz, -6 dB from full scale, with silence around it."""
    import soxr
    from piper import PiperVoice

    from voxline.models import model_path

    voice = PiperVoice.load(str(model_path("piper-joe-medium")))
    raw = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(SENTENCE))
    audio = np.frombuffer(raw, dtype=np.int16).astype(np.float32) * 0.5
    out = {}
    for rate in (16000, 8000):
        body = soxr.resample(audio, voice.config.sample_rate, rate)
        pad = np.zeros(int(LEAD * rate), np.float32)
        full = np.concatenate([pad, body, np.zeros(int(TAIL * rate), np.float32)])
        out[rate] = np.clip(np.round(full), -32768, 32767).astype(np.int16)
    return out


def labels(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(core speech frames, leading-silence frames) as boolean masks over 20 ms frames.

    Core speech: the frame and the two before it are loud (> -40 dBFS RMS), which leaves room
    for Silero's one-window lag at onsets."""
    fr = np.array([np.frombuffer(f, "<i2").astype(np.float64) for f in frames(audio, rate)])
    loud = np.sqrt((fr**2).mean(axis=1)) > 328
    core = loud & np.roll(loud, 1) & np.roll(loud, 2)
    core[:2] = False
    lead = np.arange(len(fr)) < int(LEAD * 50) - 1
    return core, lead


def white_noise(rate: int, seconds: float = 2.0, dbfs: float = -20.0) -> np.ndarray:
    rms = 32768 * 10 ** (dbfs / 20)
    noise = np.random.default_rng(1).normal(0.0, rms, int(rate * seconds))
    return np.clip(np.round(noise), -32768, 32767).astype(np.int16)


@pytest.mark.models
@pytest.mark.parametrize("rate", [16000, 8000])
def test_silero_speech_high_silence_low(speech, rate):
    audio = speech[rate]
    core, lead = labels(audio, rate)
    p = run(SileroVad(rate=rate), audio)
    assert core.sum() > 50  # the labelling found the sentence
    assert np.mean(p[core] >= 0.5) >= 0.9, p[core]
    assert np.median(p[core]) >= 0.9
    assert p[lead].max() < 0.05
    assert p[-10:].max() < 0.1  # the last 200 ms of trailing silence


@pytest.mark.models
def test_silero_white_noise_is_not_speech():
    p = run(SileroVad(), white_noise(16000))
    assert np.median(p) < 0.1 and p.max() < 0.5


@pytest.mark.models
def test_silero_buffering_matches_direct_512_sample_windows(speech):
    audio = speech[16000]
    model = shared_silero_model()
    x = audio.astype(np.float32) / 32768.0
    state = np.zeros((2, 1, 128), np.float32)
    context = np.zeros(64, np.float32)
    direct = []
    for start in range(0, len(x) - 511, 512):
        window = np.concatenate([context, x[start : start + 512]])
        prob, state = model.run(window, state, 16000)
        direct.append(prob)
        context = window[-64:]
    p = run(SileroVad(model), audio)
    # After k frames, floor(k * 320 / 512) windows are complete; the latest one is reported.
    done = (np.arange(1, len(p) + 1) * 320) // 512
    expected = np.array([direct[d - 1] if d else 0.0 for d in done])
    np.testing.assert_allclose(p, expected, atol=1e-6)


@pytest.mark.models
def test_silero_reset_forgets_state_and_buffer(speech):
    audio = speech[16000]
    vad = SileroVad()
    first = run(vad, audio)
    vad.speech_probability(audio[:320].tobytes())  # leave a partial window behind
    vad.reset()
    np.testing.assert_allclose(run(vad, audio), first, atol=1e-6)


@pytest.mark.models
def test_shared_model_is_thread_safe_and_loaded_once(speech):
    audio = speech[16000]
    assert shared_silero_model() is shared_silero_model()
    assert make_detector("silero")._model is shared_silero_model()
    expected = run(SileroVad(), audio)
    results: list[np.ndarray | None] = [None] * 4

    def worker(i: int) -> None:
        results[i] = run(SileroVad(shared_silero_model()), audio)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


def test_silero_rejects_unsupported_rate():
    with pytest.raises(ConfigError, match="8000, 16000"):
        SileroVad(rate=44100)


@pytest.mark.models
def test_silero_rejects_wrong_frame_size():
    with pytest.raises(ValueError, match="640 bytes"):
        SileroVad().speech_probability(b"\x00" * 320)
    with pytest.raises(ConfigError):
        SileroModel().run(np.zeros(576, np.float32), np.zeros((2, 1, 128), np.float32), 22050)


@pytest.mark.models
@pytest.mark.parametrize("rate", [16000, 8000])
def test_webrtc_speech_and_silence(speech, rate):
    audio = speech[rate]
    core, lead = labels(audio, rate)
    p = run(WebRtcVad(rate=rate), audio)
    assert set(np.unique(p)) <= {0.0, 1.0}
    assert np.mean(p[core]) >= 0.9
    assert p[lead].max() == 0.0
    assert p[-10:].max() == 0.0


def test_webrtc_takes_loud_white_noise_for_speech():
    # The reason Silero is the default: webrtcvad's GMM flags broadband noise as voice.
    p = run(WebRtcVad(), white_noise(16000))
    assert np.mean(p) > 0.9


def test_webrtc_validates_and_resets():
    with pytest.raises(ConfigError):
        WebRtcVad(aggressiveness=4)
    with pytest.raises(ConfigError):
        WebRtcVad(rate=22050)
    vad = WebRtcVad()
    with pytest.raises(ValueError, match="640 bytes"):
        vad.speech_probability(b"\x00" * 100)
    noise = white_noise(16000, seconds=0.2)
    before = run(vad, noise)
    vad.reset()
    np.testing.assert_array_equal(run(vad, noise), before)


def test_make_detector_builds_each_engine():
    assert isinstance(make_detector("webrtc", 8000), WebRtcVad)
    assert make_detector("webrtc", 8000).rate == 8000
