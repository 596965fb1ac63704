"""One settings model: environment variables (VOXLINE_*) over a TOML file over defaults.

Validated at start-up, so a bad provider name fails before the first call, with a message that
says what to set.
"""

from __future__ import annotations

import os
from pathlib import Path

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from voxline.vad.endpointing import EndpointingConfig

_DEFAULT_ENDPOINTING = EndpointingConfig()


class EndpointingSettings(BaseModel):
    vad: str = "silero"  # or "webrtc"
    # "local": the VAD's trailing silence ends a turn. "provider": the STT vendor's endpointing
    # does (Deepgram speech_final); the local VAD still drives barge-in.
    source: Literal["local", "provider"] = "local"
    threshold: float = _DEFAULT_ENDPOINTING.threshold
    neg_threshold: float = _DEFAULT_ENDPOINTING.neg_threshold
    min_speech_ms: int = _DEFAULT_ENDPOINTING.min_speech_ms
    trailing_silence_ms: int = _DEFAULT_ENDPOINTING.trailing_silence_ms

    def config(self) -> EndpointingConfig:
        return EndpointingConfig(
            threshold=self.threshold,
            neg_threshold=self.neg_threshold,
            min_speech_ms=self.min_speech_ms,
            trailing_silence_ms=self.trailing_silence_ms,
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOXLINE_",
        env_nested_delimiter="__",
        toml_file=os.environ.get("VOXLINE_CONFIG", "voxline.toml"),
        extra="forbid",
    )

    # A provider is "vendor/model"; a list is a fallback chain, first choice first.
    stt: str | list[str] = "local/whisper-tiny.en"
    llm: str | list[str] = "local/qwen2.5-coder-0.5b-instruct"
    tts: str | list[str] = "local/piper-joe-medium"
    endpointing: EndpointingSettings = Field(default_factory=EndpointingSettings)

    # Cloud vendors: keys, and endpoints (None: the vendor's own; set them to reach a proxy,
    # a self-hosted model, or the local protocol servers of `voxline.testing`).
    deepgram_api_key: SecretStr | None = None
    deepgram_url: str | None = None
    deepgram_endpointing_ms: int = 300
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    groq_api_key: SecretStr | None = None
    together_api_key: SecretStr | None = None
    fireworks_api_key: SecretStr | None = None
    llm_first_token_timeout_s: float = 2.0
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_url: str | None = None
    elevenlabs_voice_id: str = "21m00Tcm4TlvDq8ikWAM"
    elevenlabs_output_format: str = "pcm_16000"

    # Threads given to each local model; they take turns (providers/local/compute.py).
    stt_threads: int = 2
    llm_threads: int = 2
    tts_threads: int = 2

    context_max_tokens: int = 2000
    reply_max_tokens: int = 160

    host: str = "127.0.0.1"
    port: int = 8080
    records_dir: Path = Path("var/records")
    clinic_db: Path = Path("var/clinic.sqlite")  # the demo's appointment book

    @field_validator("stt", "llm", "tts")
    @classmethod
    def _vendor_model(cls, value: str | list[str]) -> str | list[str]:
        for name in [value] if isinstance(value, str) else value:
            if "/" not in name:
                raise ValueError(f"{name!r} is not a provider name of the form vendor/model")
        if isinstance(value, list) and not value:
            raise ValueError("an empty provider list")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))
