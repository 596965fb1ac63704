"""Local text to speech: Piper (piper-tts, GPL-3.0) with the packaged en_US "joe" voice.

Piper synthesizes a sentence at a time (~0.1 s for a short one on two cores, real-time factor
~0.06), so the turn engine feeds it clause by clause and the caller hears the first clause while
the LLM is still writing the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from voxline.models import model_path
from voxline.providers.local.compute import LOCAL_COMPUTE
from voxline.providers.base import SpeechChunk

# Pause appended after a clause, by its closing punctuation: Piper itself adds none between
# separately synthesized clauses, and speech without them sounds breathless.
_PAUSE_MS = {".": 250, "!": 250, "?": 250, ",": 120, ";": 150, ":": 150}
_DEFAULT_PAUSE_MS = 120
# Piper peak-normalizes each sentence; leave headroom for codecs and resamplers.
_VOLUME = 0.8


class PiperTTS:
    def __init__(
        self, model_id: str = "piper-joe-medium", threads: int = 2, deterministic: bool = False
    ) -> None:
        import json

        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig, SynthesisConfig

        self.name = f"local/{model_id}"
        onnx_path = model_path(model_id)
        config = json.loads(onnx_path.with_suffix(".onnx.json").read_text(encoding="utf-8"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
        # VITS samples noise for every utterance, so each synthesis differs a little; without it
        # (`deterministic`) the same text gives the same samples, which test callers need.
        quiet = 0.0 if deterministic else None
        self._synthesis = SynthesisConfig(volume=_VOLUME, noise_scale=quiet, noise_w_scale=quiet)
        self.rate: int = self._voice.config.sample_rate
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="piper")

    def synthesize_blocking(self, text: str) -> bytes:
        """Whole-text synthesis, for tools (demo WAVs) rather than calls."""
        parts = [
            (chunk.audio_float_array * 32767).astype(np.int16).tobytes()
            for chunk in self._voice.synthesize(text, syn_config=self._synthesis)
        ]
        return b"".join(parts)

    def _clause_audio(self, text: str) -> bytes:
        with LOCAL_COMPUTE.speech_job():
            pcm = self.synthesize_blocking(text)
        pause_ms = _PAUSE_MS.get(text.rstrip()[-1:], _DEFAULT_PAUSE_MS)
        return pcm + bytes(2 * (self.rate * pause_ms // 1000))

    async def warm(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._clause_audio, "Hello.")

    async def stream(self, clauses: AsyncIterator[str]) -> AsyncIterator[SpeechChunk]:
        loop = asyncio.get_running_loop()
        index = 0
        async for text in clauses:
            if not text.strip():
                continue
            pcm = await loop.run_in_executor(self._executor, self._clause_audio, text)
            yield SpeechChunk(pcm=pcm, rate=self.rate, clause=index, text=text, last=True)
            index += 1
