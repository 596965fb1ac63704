"""A Deepgram final that comes after the endpoint still belongs to the utterance it answers.

The turn engine asks for the transcript when the caller falls silent and ends the utterance at
the endpoint, 900 ms later. A Finalize answered later than that (a slow network, or the
cloud-sim server running Whisper on a busy CPU) used to be read against the next utterance's
window, and the turn was recorded as "no speech".
"""

from __future__ import annotations

import asyncio

import pytest

from voxline.audio.frames import frames_of
from voxline.audio.wav import read_wav
from voxline.providers.deepgram import DeepgramSTT
from voxline.testing.deepgram_server import DeepgramServer
from voxline.testing.profile import LatencyProfile

HOURS = "Hi, what are your opening hours?"
RATE = 16000


@pytest.mark.models
async def test_a_final_after_end_utterance_is_the_transcript_of_the_utterance_asked_for(
    caller_wavs,
) -> None:
    async with DeepgramServer(transcripts=[HOURS], profile=LatencyProfile.instant()) as server:
        stream = await DeepgramSTT(
            api_key="test-key", base_url=server.url, endpointing_ms=3000
        ).open_stream(RATE)
        stream.begin_utterance(0)
        for frame in frames_of(read_wav(caller_wavs["hours"], rate=RATE).pcm, RATE):
            stream.push(frame)
            await asyncio.sleep(0.01)
        asked = asyncio.ensure_future(stream.transcribe())
        await asyncio.sleep(0)  # Finalize is on its way; its answer cannot be here yet
        stream.end_utterance()  # the endpoint
        transcript = await asked
        after = await stream.transcribe()  # the next utterance has no words yet
        await stream.aclose()
    assert transcript.text == HOURS
    assert after.text == ""
