"""Providers chosen by a `vendor/model` string; a list of names is a fallback chain.

Vendor modules import heavy libraries, so a factory imports its module only when called; the
name and key checks (`check_names`) run at start-up without loading anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voxline.config import Settings
from voxline.errors import ConfigError
from voxline.providers.base import LanguageModel, SpeechToText, TextToSpeech

# vendor -> (settings field holding its key, env var to name in errors); None: no key needed.
OPENAI_COMPATIBLE = ("openai", "groq", "together", "fireworks", "vllm", "ollama", "llamacpp")
_KEYS = {
    "deepgram": "deepgram_api_key",
    "elevenlabs": "elevenlabs_api_key",
    "openai": "openai_api_key",
    "groq": "groq_api_key",
    "together": "together_api_key",
    "fireworks": "fireworks_api_key",
}


def _key(vendor: str, settings: Settings) -> str | None:
    field = _KEYS.get(vendor)
    secret = getattr(settings, field) if field else None
    return secret.get_secret_value() if secret is not None else None


def _whisper(model: str, settings: Settings) -> SpeechToText:
    from voxline.providers.local.whisper import WhisperSTT

    return WhisperSTT(model, threads=settings.stt_threads)


def _whisper_window(model: str, settings: Settings) -> SpeechToText:
    from voxline.providers.local.whisper_window import WindowedWhisperSTT

    return WindowedWhisperSTT(model.removesuffix("-window"), threads=settings.stt_threads)


def _deepgram(model: str, settings: Settings) -> SpeechToText:
    from voxline.providers.deepgram import DeepgramSTT

    kwargs = {"base_url": settings.deepgram_url} if settings.deepgram_url else {}
    return DeepgramSTT(
        model,
        api_key=_key("deepgram", settings) or "",
        endpointing_ms=settings.deepgram_endpointing_ms,
        provider_endpointing=settings.endpointing.source == "provider",
        **kwargs,
    )


def _llama(model: str, settings: Settings) -> LanguageModel:
    from voxline.providers.local.llama import LlamaLLM

    return LlamaLLM(
        model,
        threads=settings.llm_threads,
        context_tokens=settings.context_max_tokens + settings.reply_max_tokens + 512,
    )


def _openai_compatible(vendor: str) -> Callable[[str, Settings], LanguageModel]:
    def make(model: str, settings: Settings) -> LanguageModel:
        from voxline.providers.openai import PRESETS, OpenAIChatLLM

        base_url = settings.openai_base_url if vendor == "openai" else None
        return OpenAIChatLLM(
            model,
            api_key=_key(vendor, settings),
            base_url=base_url or PRESETS[vendor],
            first_token_timeout_s=settings.llm_first_token_timeout_s,
            name_prefix=vendor,
        )

    return make


def _piper(model: str, settings: Settings) -> TextToSpeech:
    from voxline.providers.local.piper import PiperTTS

    return PiperTTS(model, threads=settings.tts_threads)


def _elevenlabs(model: str, settings: Settings) -> TextToSpeech:
    from voxline.providers.elevenlabs import ElevenLabsTTS

    kwargs = {"base_url": settings.elevenlabs_url} if settings.elevenlabs_url else {}
    return ElevenLabsTTS(
        settings.elevenlabs_voice_id,
        api_key=_key("elevenlabs", settings) or "",
        model=model,
        output_format=settings.elevenlabs_output_format,
        timeout_s=settings.elevenlabs_audio_timeout_s,
        **kwargs,
    )


Factory = Callable[[str, Settings], Any]

# Exact names, or "vendor/*" for any model of that vendor.
STT: dict[str, Factory] = {
    "local/whisper-tiny.en": _whisper,
    "local/whisper-tiny.en-window": _whisper_window,  # encodes the utterance, not 30 s
    "deepgram/nova-2": _deepgram,
    "deepgram/nova-3": _deepgram,
}
LLM: dict[str, Factory] = {
    "local/qwen2.5-coder-0.5b-instruct": _llama,
    "local/smollm2-135m-instruct": _llama,
    **{f"{vendor}/*": _openai_compatible(vendor) for vendor in OPENAI_COMPATIBLE},
}
TTS: dict[str, Factory] = {
    "local/piper-joe-medium": _piper,
    "elevenlabs/eleven_flash_v2_5": _elevenlabs,
    "elevenlabs/eleven_turbo_v2_5": _elevenlabs,
    "elevenlabs/eleven_multilingual_v2": _elevenlabs,
}


def _names(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _lookup(kind: str, table: dict[str, Factory], name: str, settings: Settings) -> Factory:
    vendor = name.split("/", 1)[0]
    factory = table.get(name) or table.get(f"{vendor}/*")
    if factory is None:
        raise ConfigError(
            f"unknown {kind} provider {name!r}; set VOXLINE_{kind.upper()} to one of: "
            + ", ".join(sorted(table))
        )
    if vendor in _KEYS and not _key(vendor, settings):
        raise ConfigError(
            f"{name} needs an API key: set VOXLINE_{_KEYS[vendor].upper()} "
            f"(or {_KEYS[vendor]} in voxline.toml)"
        )
    return factory


def check_names(settings: Settings) -> None:
    for kind, table in (("stt", STT), ("llm", LLM), ("tts", TTS)):
        for name in _names(getattr(settings, kind)):
            _lookup(kind, table, name, settings)


@dataclass
class Providers:
    """The models of one worker process, loaded once and shared by every call."""

    stt: SpeechToText
    llm: LanguageModel
    tts: TextToSpeech

    @classmethod
    def load(cls, settings: Settings) -> "Providers":
        from voxline.providers.fallback import FallbackLLM, FallbackSTT, FallbackTTS

        check_names(settings)
        chains = {"stt": FallbackSTT, "llm": FallbackLLM, "tts": FallbackTTS}

        def make(kind: str, table: dict[str, Factory]) -> Any:
            names = _names(getattr(settings, kind))
            members = [
                _lookup(kind, table, n, settings)(n.split("/", 1)[1], settings) for n in names
            ]
            return members[0] if len(members) == 1 else chains[kind](members)

        return cls(stt=make("stt", STT), llm=make("llm", LLM), tts=make("tts", TTS))

    async def warm(self, system_prompt: str) -> None:
        warmers = [self.llm.warm(system_prompt), self.tts.warm()]
        stt_warm = getattr(self.stt, "warm", None)
        if stt_warm is not None:
            warmers.append(stt_warm())
        for warmer in warmers:  # one at a time: local models share the same cores
            await warmer

    async def aclose(self) -> None:
        """Close pooled connections (HTTP sessions, pre-opened sockets) at shutdown."""
        for provider in (self.stt, self.llm, self.tts):
            for member in getattr(provider, "members", [provider]):  # a fallback chain's too
                closer = getattr(member, "aclose", None)
                if closer is not None:
                    await closer()
