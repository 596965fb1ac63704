"""Local speech to text: Whisper tiny.en with an encoder window sized to the utterance.

Whisper is trained on 30 s windows, and faster-whisper always encodes 3000 feature frames even
for a 2 s utterance: ~0.35-0.45 s on two cores, nearly all of it spent encoding padding. The
encoder itself (CTranslate2) takes any even number of frames up to 3000, so this provider
encodes the utterance plus a short tail of padding (whisper.cpp calls this a reduced audio
context): 1-4 s utterances take ~40-100 ms. Same model, same package as `local/whisper-tiny.en`.

The cost of the shortcut: a model trained on 30 s windows sometimes loops (repeats the
sentence) or guesses when it sees a short one. Such an answer is recognised the way Whisper's
own decoder recognises a bad pass (text that compresses too well, or a low mean log
probability), and that utterance is decoded again over the full 30 s window, so a bad short
answer costs time, not accuracy.

Measured against the full window in bench/results/local_stt_choice.json
(`python -m voxline.bench.stt_choice`).
"""

from __future__ import annotations

import math
import re
import zlib

import numpy as np

from voxline.errors import ProviderError
from voxline.providers.base import STTStream, Transcript
from voxline.providers.local.telephone_rate import at_engine_rate
from voxline.providers.local.whisper import WhisperStream, WhisperSTT

HOP = 160  # samples per feature frame at 16 kHz
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s
# Padding frames after the utterance: Whisper expects to see where speech stops.
DEFAULT_TAIL_MS = 1000
# An utterance no longer than this many tokens per second of audio (fast speech is ~4 words/s,
# ~5 tokens/s); a loop that slips past the repeat check still stops here.
MAX_TOKENS_PER_S = 8
MIN_MAX_TOKENS = 16
# Whisper's own thresholds for a failed pass (the ones faster-whisper uses for its fallback).
COMPRESSION_RATIO_LIMIT = 2.4
LOGPROB_LIMIT = -1.0
NO_SPEECH_LIMIT = 0.6


def window_frames(samples: int, tail_ms: int) -> int:
    """Feature frames to encode for an utterance of `samples` (even: the encoder halves it)."""
    frames = math.ceil(samples / HOP) + tail_ms // 10
    frames += frames % 2
    return min(frames, FULL_WINDOW_FRAMES)


def compression_ratio(text: str) -> float:
    """How well the text compresses: a sentence repeated in a loop compresses far better."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _silent(logprob: float, no_speech: float) -> bool:
    """Whisper's rule for "nobody spoke": likely no speech, and no confident text either."""
    return no_speech > NO_SPEECH_LIMIT and logprob < LOGPROB_LIMIT


def restarts(text: str) -> bool:
    """After its first sentence the transcript says that sentence again ("Is there ...? Is
    there"): the start of a loop, which the length cap cut short of a high compression ratio."""
    head, _, rest = _split_first(text)
    said, again = _WORD.findall(head.lower()), _WORD.findall(rest.lower())
    if len(again) < 2:
        return False
    n = len(again)
    # The length cap may have cut the last word short ("teeth whit").
    return any(
        said[i : i + n - 1] == again[:-1] and said[i + n - 1].startswith(again[-1])
        for i in range(len(said) - n + 1)
    )


_WORD = re.compile(r"[a-z0-9']+")


def _split_first(text: str) -> tuple[str, str, str]:
    found = re.search(r"(?<=[.?!])\s+", text)
    if found is None:
        return text, "", ""
    return text[: found.start()], found.group(), text[found.end() :]


def _failed(text: str, logprob: float) -> bool:
    return (
        compression_ratio(text) > COMPRESSION_RATIO_LIMIT
        or logprob < LOGPROB_LIMIT
        or restarts(text)
    )


class WindowedWhisperSTT(WhisperSTT):
    """Whisper tiny.en, encoding only the utterance and `tail_ms` of padding."""

    def __init__(
        self, model_id: str = "whisper-tiny.en", threads: int = 2, tail_ms: int = DEFAULT_TAIL_MS
    ) -> None:
        if not 0 <= tail_ms <= 30_000:
            raise ProviderError(f"whisper window tail must be 0..30000 ms, got {tail_ms}")
        super().__init__(model_id, threads=threads)
        self.name = f"local/{model_id}-window"
        self.tail_ms = tail_ms
        self.full_window_retries = 0  # how often the short window was not trusted
        ct2 = self._model.model
        if not ct2.is_multilingual:
            # English-only: <|startoftranscript|> <|notimestamps|>, nothing about language.
            self._prompt = [
                self._model.hf_tokenizer.token_to_id("<|startoftranscript|>"),
                self._model.hf_tokenizer.token_to_id("<|notimestamps|>"),
            ]
        else:
            raise ProviderError(
                f"{self.name}: only the English-only Whisper models are supported here"
            )
        self._eot = self._model.hf_tokenizer.token_to_id("<|endoftext|>")

    async def open_stream(self, rate: int) -> STTStream:
        return at_engine_rate(WhisperStream(self), rate, self.name)

    def decode(self, samples: np.ndarray) -> Transcript:
        """Blocking transcription of one utterance (float32 samples at 16 kHz)."""
        if samples.size == 0:
            return Transcript(text="")
        if samples.size > FULL_WINDOW_FRAMES * HOP:
            samples = samples[-FULL_WINDOW_FRAMES * HOP :]  # the most recent 30 s, as whisper.py
        # Log-mel of the audio alone; the padding frames are zeros, as faster-whisper pads.
        features = self._model.feature_extractor(samples)[:, :-1]
        short = window_frames(samples.size, self.tail_ms)
        text, logprob, no_speech = self._generate(features, short, samples.size)
        if (
            not _silent(logprob, no_speech)
            and short < FULL_WINDOW_FRAMES
            and _failed(text, logprob)
        ):
            self.full_window_retries += 1
            text, logprob, no_speech = self._generate(features, FULL_WINDOW_FRAMES, samples.size)
        if _silent(logprob, no_speech):
            return Transcript(text="")
        return Transcript(text=text, confidence=math.exp(logprob))

    def _generate(
        self, features: np.ndarray, frames: int, samples: int
    ) -> tuple[str, float, float]:
        import ctranslate2

        window = np.zeros((1, features.shape[0], frames), dtype=np.float32)
        used = min(frames, features.shape[1])
        window[0, :, :used] = features[:, :used]
        max_tokens = max(MIN_MAX_TOKENS, int(samples / 16000 * MAX_TOKENS_PER_S) + 1)
        result = self._model.model.generate(
            ctranslate2.StorageView.from_array(window),
            [self._prompt],
            beam_size=1,
            max_length=len(self._prompt) + max_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._eot]
        text = self._model.hf_tokenizer.decode(tokens).strip()
        # With length_penalty 1 the score is the mean log probability per generated token.
        logprob = float(result.scores[0]) if result.scores else 0.0
        return text, logprob, float(result.no_speech_prob)
