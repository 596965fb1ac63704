"""The `cloud-sim` profile: the cloud pipeline against the local protocol servers.

Deepgram, OpenAI-compatible and ElevenLabs clients, the real ones, talk to servers on loopback
that speak those vendors' wire protocols with the field's latency budget injected. Every delay
a server injects is recorded, so voxline's own share of a turn can be computed exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from voxline.config import Settings
from voxline.testing.deepgram_server import DeepgramServer
from voxline.testing.elevenlabs_server import ElevenLabsServer
from voxline.testing.openai_server import OpenAIServer
from voxline.testing.profile import LatencyProfile

KEY = "test-key"
# Scripted caller lines are seconds apart (the caller waits for the answer); pauses inside a
# line are under the 900 ms endpoint window.
LINE_GAP_S = 1.5
SIM_AUDIO_TIMEOUT_S = 5.0


def field_profile(seed: int) -> LatencyProfile:
    """The field's latency budget (the LatencyProfile defaults), seeded."""
    return LatencyProfile(seed=seed)


@dataclass(frozen=True)
class SimURLs:
    deepgram: str
    openai: str
    elevenlabs: str

    def settings(self, settings: Settings) -> Settings:
        """`settings` with the cloud providers pointed at these servers (keys are theirs)."""
        return settings.model_copy(
            update={
                "stt": "deepgram/nova-3",
                "llm": "openai/gpt-4o-mini",
                "tts": "elevenlabs/eleven_flash_v2_5",
                "deepgram_api_key": SecretStr(KEY),
                "deepgram_url": self.deepgram,
                "openai_api_key": SecretStr(KEY),
                "openai_base_url": self.openai,
                "elevenlabs_api_key": SecretStr(KEY),
                "elevenlabs_url": self.elevenlabs,
                # The local server synthesizes uncached text with Piper on the same two cores:
                # slower than the flash model the 2 s production default is set for.
                "elevenlabs_audio_timeout_s": SIM_AUDIO_TIMEOUT_S,
            }
        )


@dataclass
class CloudSim:
    deepgram: DeepgramServer
    openai: OpenAIServer
    elevenlabs: ElevenLabsServer
    settings: Settings  # the caller's settings, pointed at the servers above


@asynccontextmanager
async def cloud_sim(
    settings: Settings,
    *,
    transcripts: Sequence[str] | Callable[[bytes, int], str] | None = None,
    profile: Callable[[int], LatencyProfile] = field_profile,
) -> AsyncIterator[CloudSim]:
    """Start the three servers in this process and yield settings that use them.

    `profile(seed)` makes each server's latency profile (seeds 1, 2, 3). The servers are
    reachable as attributes, so a test can inject faults and read what they received."""
    async with AsyncExitStack() as stack:
        deepgram = await stack.enter_async_context(
            DeepgramServer(api_key=KEY, transcripts=transcripts, profile=profile(1),
                           line_gap_s=LINE_GAP_S)
        )
        openai = await stack.enter_async_context(OpenAIServer(api_key=KEY, profile=profile(2)))
        elevenlabs = await stack.enter_async_context(
            ElevenLabsServer(api_key=KEY, profile=profile(3))
        )
        urls = SimURLs(deepgram.url, openai.base_url, elevenlabs.base_url)
        yield CloudSim(deepgram, openai, elevenlabs, urls.settings(settings))


def whisper_transcripts() -> Callable[[bytes, int], str]:
    """A transcript source for arbitrary caller audio: the local whisper, run by the server."""
    import numpy as np

    from voxline.audio.frames import ENGINE_RATE
    from voxline.audio.resample import resample
    from voxline.providers.local.whisper import WhisperSTT

    whisper = WhisperSTT()

    def transcribe(pcm: bytes, rate: int) -> str:
        if rate != ENGINE_RATE:  # a phone call's 8 kHz: Whisper takes 16
            pcm = resample(pcm, rate, ENGINE_RATE)
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        return whisper.decode(samples).text

    return transcribe
