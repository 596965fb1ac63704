"""Providers chosen by a `vendor/model` string.

Vendor modules import heavy libraries, so a factory imports its module only when called; the
name check (`check_names`) runs at start-up without loading anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voxline.config import Settings
from voxline.errors import ConfigError
from voxline.providers.base import LanguageModel, SpeechToText, TextToSpeech


def _whisper(model: str, settings: Settings) -> SpeechToText:
    from voxline.providers.local.whisper import WhisperSTT

    return WhisperSTT(model, threads=settings.stt_threads)


def _llama(model: str, settings: Settings) -> LanguageModel:
    from voxline.providers.local.llama import LlamaLLM

    return LlamaLLM(
        model,
        threads=settings.llm_threads,
        context_tokens=settings.context_max_tokens + settings.reply_max_tokens + 512,
    )


def _piper(model: str, settings: Settings) -> TextToSpeech:
    from voxline.providers.local.piper import PiperTTS

    return PiperTTS(model, threads=settings.tts_threads)


Factory = Callable[[str, Settings], Any]

STT: dict[str, Factory] = {"local/whisper-tiny.en": _whisper}
LLM: dict[str, Factory] = {
    "local/qwen2.5-coder-0.5b-instruct": _llama,
    "local/smollm2-135m-instruct": _llama,
}
TTS: dict[str, Factory] = {"local/piper-joe-medium": _piper}


def _lookup(kind: str, table: dict[str, Factory], name: str) -> Factory:
    factory = table.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown {kind} provider {name!r}; set VOXLINE_{kind.upper()} to one of: "
            + ", ".join(sorted(table))
        )
    return factory


def check_names(settings: Settings) -> None:
    _lookup("stt", STT, settings.stt)
    _lookup("llm", LLM, settings.llm)
    _lookup("tts", TTS, settings.tts)


@dataclass
class Providers:
    """The models of one worker process, loaded once and shared by every call."""

    stt: SpeechToText
    llm: LanguageModel
    tts: TextToSpeech

    @classmethod
    def load(cls, settings: Settings) -> "Providers":
        check_names(settings)

        def make(kind: str, table: dict[str, Factory], name: str) -> Any:
            return _lookup(kind, table, name)(name.split("/", 1)[1], settings)

        return cls(
            stt=make("stt", STT, settings.stt),
            llm=make("llm", LLM, settings.llm),
            tts=make("tts", TTS, settings.tts),
        )

    async def warm(self, system_prompt: str) -> None:
        warmers = [self.llm.warm(system_prompt), self.tts.warm()]
        stt_warm = getattr(self.stt, "warm", None)
        if stt_warm is not None:
            warmers.append(stt_warm())
        for warmer in warmers:  # one at a time: they share the same two cores
            await warmer
