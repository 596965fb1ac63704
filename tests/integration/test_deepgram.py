"""DeepgramStream against the loopback Deepgram server, with real synthesized speech."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from voxline.audio.frames import frames_of, silence
from voxline.audio.g711 import ulaw_encode
from voxline.audio.wav import read_wav
from voxline.errors import ProviderConnectError, ProviderServerError, ProviderTimeout, RateLimited
from voxline.providers import deepgram as deepgram_module
from voxline.providers.base import EndpointingSTTStream, STTStream, Transcript
from voxline.providers.deepgram import DeepgramSTT, DeepgramStream
from voxline.testing.deepgram_server import DeepgramServer
from voxline.testing.profile import Fault, FaultPlan, LatencyProfile

HOURS = "Hi, what are your opening hours?"
WEEKEND = "Are you open on Saturday?"
RATE = 16000


def pcm_of(caller_wavs: dict[str, Path], name: str, rate: int = RATE) -> bytes:
    return read_wav(caller_wavs[name], rate=rate).pcm


async def speak(
    stream: DeepgramStream, pcm: bytes, *, rate: int = RATE, tail_ms: int = 0, speed: float = 2.0,
    encode: Callable[[bytes], bytes] | None = None,
) -> None:
    """Push 20 ms frames at `speed` times real time, as the turn engine would."""
    for frame in frames_of(pcm + silence(rate, tail_ms), rate):
        stream.push(encode(frame) if encode else frame)
        await asyncio.sleep(0.02 / speed)


def stt(server: DeepgramServer, **kwargs: object) -> DeepgramSTT:
    return DeepgramSTT(api_key="test-key", base_url=server.url, **kwargs)  # type: ignore[arg-type]


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


# -- speech in, transcripts out ---------------------------------------------------------------


@pytest.mark.models
async def test_interim_and_final_transcripts(caller_wavs: dict[str, Path]) -> None:
    async with DeepgramServer(transcripts=[HOURS]) as server:
        stream = await stt(server).open_stream(RATE)
        assert isinstance(stream, STTStream) and isinstance(stream, EndpointingSTTStream)
        partials: list[str] = []
        stream.on_partial = partials.append
        stream.begin_utterance(0)
        await speak(stream, pcm_of(caller_wavs, "hours"), tail_ms=600)  # past endpointing
        await wait_for(lambda: server.finals == [HOURS])
        transcript = await stream.transcribe()
        await stream.aclose()
    assert transcript == Transcript(HOURS, pytest.approx(0.93))
    interims = [p for p in partials if p != HOURS]
    assert interims and all(HOURS.startswith(p) for p in interims)  # words revealed as spoken
    assert partials[-1] == HOURS
    assert stream.reconnections == 0 and stream.protocol_errors == 0


@pytest.mark.models
async def test_transcribe_sends_finalize_and_gets_the_utterance(
    caller_wavs: dict[str, Path],
) -> None:
    # Endpointing far away: only Finalize can produce the final before the test ends.
    profile = LatencyProfile(stt_final_ms=(50.0, 50.0))
    async with DeepgramServer(transcripts=[HOURS], profile=profile) as server:
        stream = await stt(server, endpointing_ms=3000, utterance_end_ms=None).open_stream(RATE)
        stream.begin_utterance(0)
        await speak(stream, pcm_of(caller_wavs, "hours"))
        started = time.perf_counter()
        transcript = await stream.transcribe()
        waited = time.perf_counter() - started
        await stream.aclose()
    assert transcript.text == HOURS and transcript.confidence == pytest.approx(0.93)
    assert server.finalizes == 1
    assert 0.05 <= waited < 1.0  # the injected final delay, and not the endpointing window
    assert profile.injected == [("stt_final_ms", 50.0)]


@pytest.mark.models
async def test_utterance_confidence_is_the_mean_of_its_finals(caller_wavs: dict[str, Path]) -> None:
    async with DeepgramServer(transcripts=[HOURS, WEEKEND], confidence=[0.9, 0.7]) as server:
        stream = await stt(server, endpointing_ms=3000, utterance_end_ms=None).open_stream(RATE)
        stream.begin_utterance(0)
        await speak(stream, pcm_of(caller_wavs, "hours"))
        first = await stream.transcribe()  # speculative: the caller goes on after it
        await speak(stream, pcm_of(caller_wavs, "weekend"))
        both = await stream.transcribe()
        stream.end_utterance()
        after = await stream.transcribe()  # a new utterance has no words yet
        await stream.aclose()
    assert first == Transcript(HOURS, pytest.approx(0.9))
    assert both == Transcript(f"{HOURS} {WEEKEND}", pytest.approx(0.8))
    assert after.text == ""


@pytest.mark.models
@pytest.mark.parametrize("endpointing_ms", [300, None], ids=["speech_final", "utterance_end"])
async def test_provider_endpointing_calls_on_endpoint(
    caller_wavs: dict[str, Path], endpointing_ms: int | None
) -> None:
    async with DeepgramServer(transcripts=[HOURS, WEEKEND]) as server:
        stream = await stt(
            server, endpointing_ms=endpointing_ms, utterance_end_ms=1000, provider_endpointing=True
        ).open_stream(RATE)
        endpoints: list[Transcript] = []
        stream.on_endpoint = endpoints.append
        await speak(stream, pcm_of(caller_wavs, "hours"), tail_ms=1200)
        await wait_for(lambda: len(endpoints) == 1)
        await speak(stream, pcm_of(caller_wavs, "weekend"), tail_ms=1200)
        await wait_for(lambda: len(endpoints) == 2)
        await asyncio.sleep(0.3)  # no late duplicate from an UtteranceEnd
        await stream.aclose()
    assert endpoints == [Transcript(HOURS, 0.93), Transcript(WEEKEND, 0.93)]


@pytest.mark.models
async def test_mulaw_at_8khz(caller_wavs: dict[str, Path]) -> None:
    async with DeepgramServer(transcripts=[HOURS]) as server:
        stream = await stt(server).open_stream(8000, encoding="mulaw")
        stream.begin_utterance(0)
        pcm = pcm_of(caller_wavs, "hours", rate=8000)
        await speak(stream, pcm, rate=8000, encode=ulaw_encode)
        transcript = await stream.transcribe()
        await stream.aclose()
    assert transcript.text == HOURS
    assert server.audio_bytes == len(list(frames_of(pcm, 8000))) * 160  # a byte a sample


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.models
async def test_drop_mid_stream_reconnects_and_replays(caller_wavs: dict[str, Path]) -> None:
    heard: list[float] = []  # seconds of audio in each utterance the server transcribed

    def transcribe(pcm: bytes, rate: int) -> str:
        heard.append(len(pcm) / 2 / rate)
        return HOURS

    faults = FaultPlan(Fault.DROP_MID_STREAM)  # cut after ~1 s of audio: mid-sentence
    async with DeepgramServer(transcripts=transcribe, faults=faults) as server:
        stream = await stt(server, endpointing_ms=3000).open_stream(RATE)
        stream.begin_utterance(0)
        pcm = pcm_of(caller_wavs, "hours")
        await speak(stream, pcm)
        transcript = await stream.transcribe()
        await stream.aclose()
    assert stream.reconnections == 1 and server.connections == 2
    assert transcript.text == HOURS
    # The whole utterance (~2 s of speech) reached the second connection, not just its tail.
    assert heard[-1] >= 1.9
    assert server.audio_bytes >= len(pcm) + 32000 * 0.9  # the first second went twice


@pytest.mark.models
async def test_drop_mid_stream_with_real_asr(caller_wavs: dict[str, Path]) -> None:
    from voxline.providers.local.whisper import WhisperSTT

    whisper = WhisperSTT()

    def transcribe(pcm: bytes, rate: int) -> str:
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        return whisper.decode(samples).text

    faults = FaultPlan(Fault.DROP_MID_STREAM)
    async with DeepgramServer(transcripts=transcribe, faults=faults) as server:
        stream = await stt(server, endpointing_ms=3000).open_stream(RATE)
        stream.begin_utterance(0)
        await speak(stream, pcm_of(caller_wavs, "hours"))
        stream.finalize_timeout_s = 5.0  # Whisper on a shared CPU
        transcript = await stream.transcribe()
        await stream.aclose()
    assert stream.reconnections == 1
    words = transcript.text.lower()
    assert "hi" in words and "opening hours" in words  # the start survived the drop


@pytest.mark.models
async def test_malformed_frame_is_logged_and_the_stream_goes_on(
    caller_wavs: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    async with DeepgramServer(transcripts=[HOURS], faults=FaultPlan(Fault.MALFORMED)) as server:
        stream = await stt(server).open_stream(RATE)
        stream.begin_utterance(0)
        with caplog.at_level(logging.WARNING, logger="voxline.providers.deepgram"):
            await speak(stream, pcm_of(caller_wavs, "hours"))
            transcript = await stream.transcribe()
        await stream.aclose()
    assert transcript.text == HOURS
    assert stream.protocol_errors == 1 and stream.reconnections == 0
    assert "malformed" in caplog.text and "not JSON" in caplog.text


@pytest.mark.models
async def test_slow_first_final_times_out_then_the_stream_recovers(
    caller_wavs: dict[str, Path],
) -> None:
    faults = FaultPlan(Fault.SLOW_FIRST, slow_first_s=1.0)
    async with DeepgramServer(transcripts=[HOURS, WEEKEND], faults=faults) as server:
        stream = await stt(server, endpointing_ms=3000).open_stream(RATE)
        stream.finalize_timeout_s = 0.3
        stream.begin_utterance(0)
        await speak(stream, pcm_of(caller_wavs, "hours"))
        started = time.perf_counter()
        with pytest.raises(ProviderTimeout, match="Finalize"):
            await stream.transcribe()
        assert time.perf_counter() - started < 0.6
        await wait_for(lambda: server.finals == [HOURS])  # the slow final does come
        stream.end_utterance()
        stream.begin_utterance(0)
        await speak(stream, pcm_of(caller_wavs, "weekend"))
        stream.finalize_timeout_s = 2.0
        transcript = await stream.transcribe()
        await stream.aclose()
    assert transcript.text == WEEKEND


async def test_wrong_key_is_refused_at_open_without_retry() -> None:
    async with DeepgramServer(api_key="right") as server:
        with pytest.raises(ProviderConnectError, match="401"):
            await DeepgramSTT(api_key="wrong", base_url=server.url).open_stream(RATE)
        assert server.connections == 1


async def test_auth_fault_is_refused_at_open() -> None:
    async with DeepgramServer(faults=FaultPlan(Fault.AUTH)) as server:
        with pytest.raises(ProviderConnectError, match="credentials"):
            await stt(server).open_stream(RATE)
        assert server.connections == 1


@pytest.mark.parametrize(
    ("fault", "error"), [(Fault.RATE_LIMIT, RateLimited), (Fault.SERVER_ERROR, ProviderServerError)]
)
async def test_handshake_errors_are_classified(fault: Fault, error: type[Exception]) -> None:
    faults = FaultPlan(fault, on_requests=frozenset(range(100)), retry_after_s=0.01)
    async with DeepgramServer(faults=faults) as server:
        with pytest.raises(error):
            await stt(server).open_stream(RATE)
        assert server.connections == 6  # the first try and five retries


async def test_one_server_error_at_handshake_is_retried() -> None:
    async with DeepgramServer(faults=FaultPlan(Fault.SERVER_ERROR)) as server:
        stream = await stt(server).open_stream(RATE)
        assert server.connections == 2 and stream.reconnections == 0
        await stream.aclose()


# -- idle and close ---------------------------------------------------------------------------


async def test_keepalive_while_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deepgram_module, "KEEPALIVE_INTERVAL_S", 0.1)
    async with DeepgramServer() as server:
        stream = await stt(server).open_stream(RATE)
        for _ in range(10):  # audio flowing: no KeepAlive needed
            stream.push(silence(RATE))
            await asyncio.sleep(0.02)
        assert server.keepalives == 0
        await asyncio.sleep(0.45)
        assert server.keepalives >= 3
        await stream.aclose()


async def test_aclose_sends_closestream_and_gets_metadata() -> None:
    async with DeepgramServer() as server:
        stream = await stt(server).open_stream(RATE)
        for _ in range(50):
            stream.push(silence(RATE))
        await stream.aclose()
        await stream.aclose()  # idempotent
    assert server.close_streams == 1
    assert stream.metadata is not None and stream.metadata.request_id
    assert stream.metadata.duration == pytest.approx(1.0)

