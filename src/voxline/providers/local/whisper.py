"""Local speech to text: faster-whisper (CTranslate2) with the packaged tiny.en model.

Whisper is not a streaming model: it transcribes a whole utterance at once (~0.35–0.45 s on two
cores for tiny.en). The turn engine hides most of that by asking for the transcript the moment
silence begins, while the endpoint window is still running (speculative STT).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from voxline.audio.frames import FRAME_MS
from voxline.models import model_path
from voxline.providers.base import STTStream, Transcript
from voxline.providers.local.compute import LOCAL_COMPUTE
from voxline.providers.local.telephone_rate import at_engine_rate

# Audio kept before the detected speech start: the VAD fires a little late on soft onsets.
PREROLL_MS = 300
# While nobody speaks, keep enough history to reach back past the VAD's confirmation delay.
IDLE_HISTORY_MS = 1500
# Whisper sees at most 30 s; a longer utterance keeps its most recent 30 s.
MAX_UTTERANCE_MS = 30_000


class WhisperSTT:
    """One model per process; transcriptions run one at a time on a dedicated thread."""

    def __init__(self, model_id: str = "whisper-tiny.en", threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self.name = f"local/{model_id}"
        directory = model_path(model_id).parent
        self._model = WhisperModel(
            str(directory), device="cpu", compute_type="int8", cpu_threads=threads
        )
        # One worker: two concurrent decodes on two cores would only slow both down.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")

    async def open_stream(self, rate: int) -> STTStream:
        return at_engine_rate(WhisperStream(self), rate, self.name)

    async def warm(self) -> None:
        await self.run(np.zeros(16000, dtype=np.float32))

    async def run(self, samples: np.ndarray) -> Transcript:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transcribe, samples)

    def _transcribe(self, samples: np.ndarray) -> Transcript:
        with LOCAL_COMPUTE.speech_job():
            return self.decode(samples)

    def decode(self, samples: np.ndarray) -> Transcript:
        """Blocking transcription of one utterance (float32 samples at 16 kHz)."""
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=1,
            vad_filter=False,  # our own VAD already cut the utterance
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        texts, logprobs = [], []
        for segment in segments:
            texts.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
        text = " ".join(t for t in texts if t)
        confidence = math.exp(sum(logprobs) / len(logprobs)) if logprobs else None
        return Transcript(text=text, confidence=confidence)


class WhisperStream:
    """Keeps a bounded window of the call's audio and transcribes the current utterance."""

    def __init__(self, engine: WhisperSTT) -> None:
        self._engine = engine
        self._idle_frames = IDLE_HISTORY_MS // FRAME_MS
        self._frames: deque[bytes] = deque(maxlen=self._idle_frames)
        self._in_utterance = False

    def push(self, frame: bytes) -> None:
        self._frames.append(frame)

    def begin_utterance(self, started_ms_ago: float) -> None:
        # Keep what was said since the (back-dated) speech start, plus the pre-roll.
        keep = int((started_ms_ago + PREROLL_MS) // FRAME_MS) + 1
        recent = list(self._frames)[-keep:]
        self._frames = deque(recent, maxlen=MAX_UTTERANCE_MS // FRAME_MS)
        self._in_utterance = True

    def end_utterance(self) -> None:
        self._frames = deque(list(self._frames)[-self._idle_frames :], maxlen=self._idle_frames)
        self._in_utterance = False

    async def transcribe(self) -> Transcript:
        if not self._frames:
            return Transcript(text="")
        pcm = b"".join(self._frames)  # a snapshot: frames pushed later are not in it
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
        return await self._engine.run(samples)

    async def aclose(self) -> None:
        self._frames.clear()
