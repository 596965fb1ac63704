"""One settings model: environment variables (VOXLINE_*) over a TOML file over defaults.

Validated at start-up, so a bad provider name fails before the first call, with a message that
says what to set.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from voxline.protocols.ice_uri import parse_ice_uri
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
    # Adaptive endpointing: when the speculative transcript reads as a finished turn
    # (vad/completeness.py), the silence ends after complete_silence_ms instead.
    adaptive: bool = False  # off: on the paused-sentence corpus it cut 31% (docs/endpointing.md)
    complete_silence_ms: int = _DEFAULT_ENDPOINTING.complete_silence_ms

    def config(self) -> EndpointingConfig:
        return EndpointingConfig(
            threshold=self.threshold,
            neg_threshold=self.neg_threshold,
            min_speech_ms=self.min_speech_ms,
            trailing_silence_ms=self.trailing_silence_ms,
            complete_silence_ms=self.complete_silence_ms,
        )


class IceServerSettings(BaseModel):
    """One STUN/TURN server, in the shape of the browser's RTCIceServer."""

    model_config = {"extra": "forbid"}
    urls: list[str]
    username: str | None = None
    credential: SecretStr | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("urls")
    @classmethod
    def _valid_uris(cls, urls: list[str]) -> list[str]:
        if not urls:
            raise ValueError("an ICE server needs at least one URL")
        for uri in urls:
            parse_ice_uri(uri)
        return urls


class WebRTCSettings(BaseModel):
    """ICE for browser calls. Servers come only from here: none configured means host candidates
    only, never a public STUN server (aiortc's default Google STUN is always overridden)."""

    model_config = {"extra": "forbid"}
    # Static STUN/TURN servers, e.g. [{"urls": "stun:stun.clinic.example:3478"}].
    ice_servers: list[IceServerSettings] = Field(default_factory=list)
    # TURN REST API (coturn use-auth-secret): each call gets a username/password derived from
    # this shared secret, valid for turn_rest_ttl_s, for every URL in turn_urls.
    turn_urls: list[str] = Field(default_factory=list)
    turn_rest_secret: SecretStr | None = None
    turn_rest_user: str = "voxline"
    turn_rest_ttl_s: int = Field(default=3600, gt=0)
    ice_transport_policy: Literal["all", "relay"] = "all"  # "relay": only TURN candidates
    # STUN/TURN hosts the operator runs (names or public addresses): in HIPAA mode
    # (privacy.hipaa) every other host that is not private or loopback is refused.
    operator_ice_hosts: list[str] = Field(default_factory=list)
    # Local addresses offered as host candidates; empty: every non-loopback interface
    # (aioice's choice). Tests pin ["127.0.0.1"].
    host_addresses: list[str] = Field(default_factory=list)
    max_calls: int = Field(default=20, ge=1)  # concurrent browser calls per worker
    # A call whose ICE has not connected this long after the answer ends ("ice_timeout").
    ice_timeout_s: float = Field(default=20.0, gt=0)

    @field_validator("turn_urls")
    @classmethod
    def _turn_only(cls, urls: list[str]) -> list[str]:
        for uri in urls:
            if not parse_ice_uri(uri).is_turn:
                raise ValueError(f"{uri!r}: turn_urls takes turn: or turns: URIs")
        return urls

    @field_validator("host_addresses")
    @classmethod
    def _ip_addresses(cls, addresses: list[str]) -> list[str]:
        return [str(ipaddress.ip_address(a.strip())) for a in addresses]

    @model_validator(mode="after")
    def _consistent(self) -> WebRTCSettings:
        if self.turn_rest_secret is not None and not self.turn_urls:
            raise ValueError("turn_rest_secret is set but turn_urls is empty; set both")
        if self.turn_urls and self.turn_rest_secret is None:
            raise ValueError("turn_urls is set but turn_rest_secret is empty; set both")
        return self

    def ice_uris(self) -> list[str]:
        """Every STUN/TURN URI a call may use: static servers, then the TURN REST ones."""
        return [uri for server in self.ice_servers for uri in server.urls] + self.turn_urls


class TwilioSettings(BaseModel):
    """Phone calls through Twilio Media Streams: POST /twilio/voice answers with TwiML that
    connects the call to the /twilio/stream WebSocket."""

    model_config = {"extra": "forbid"}
    # The account's auth token (or webhook SharedKey secret): every webhook and every stream
    # handshake must carry an X-Twilio-Signature made with it. Unset: the routes refuse all.
    auth_token: SecretStr | None = None
    # The public base URL Twilio calls, e.g. "https://voice.clinic.example". Behind a proxy the
    # server sees another URL, and the signature covers the public one. Unset: the URL as the
    # server sees it (right only when nothing sits in front of the server).
    public_base_url: str | None = None
    # Webhook parameters handed on to the stream as <Parameter>s (start.customParameters).
    stream_parameters: list[str] = Field(default_factory=lambda: ["CallSid", "From", "To"])
    max_calls: int = Field(default=20, ge=1)  # concurrent Twilio calls per worker

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r}: public_base_url must be http(s)://host[:port][/path]")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r}: public_base_url takes no query or fragment")
        return value.rstrip("/")


class RecordsSettings(BaseModel):
    """Call records (calls, turns, events) in a database, written off the audio path."""

    model_config = {"extra": "forbid"}
    enabled: bool = True
    # SQLAlchemy URL, e.g. "postgresql+psycopg://voxline@db/voxline". None: a SQLite file in
    # records_dir (zero set-up).
    database_url: str | None = None
    migrate: bool = True  # run the Alembic migrations to head at start-up
    # While the database is unreachable, records go to this JSON-lines file and are replayed
    # when it is back. None: records_dir/spool.jsonl.
    spool_path: Path | None = None
    retry_s: float = Field(default=5.0, gt=0)  # how often a down database is tried again
    queue_max: int = Field(default=10_000, ge=10)


class TelemetrySettings(BaseModel):
    """Metrics, logs and traces."""

    model_config = {"extra": "forbid"}
    metrics: bool = True  # /metrics and the histograms behind it
    log_format: Literal["json", "console"] = "json"  # console: readable, for development
    log_level: str = "INFO"
    # Traces go to this OTLP/HTTP endpoint (e.g. "http://127.0.0.1:4318/v1/traces");
    # None: tracing is off and costs nothing.
    otlp_endpoint: str | None = None
    service_name: str = "voxline"
    # Per-component budgets (DESIGN.md); a turn over any of them flags its call for review.
    budgets_ms: dict[str, float] = Field(
        default_factory=lambda: {
            "stt_latency_ms": 120.0,
            "llm_first_token_ms": 250.0,
            "tts_first_chunk_ms": 100.0,
            "turn_latency_ms": 800.0,
        }
    )
    stt_reconnections_flag: int = 3  # this many STT reconnections in a call flag it


class SIPSettings(BaseModel):
    """Phone calls straight from a SIP trunk: UDP SIP on host:port, RTP on a port range."""

    model_config = {"extra": "forbid"}
    enabled: bool = False
    host: str = "127.0.0.1"  # where the SIP listener binds
    port: int = Field(default=5060, ge=0, le=65535)  # 0: any free port (tests)
    # The address put in Contact and SDP. Unset: host (which then may not be 0.0.0.0).
    public_address: str | None = None
    rtp_port_min: int = Field(default=20000, ge=1024, le=65534)
    rtp_port_max: int = Field(default=20999, ge=1025, le=65535)
    # Source networks whose requests are served; others get 403. Say 0.0.0.0/0 to allow all.
    allow_from: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    # Digest auth (RFC 2617/7616 MD5) of inbound requests; empty: none asked.
    auth_users: dict[str, SecretStr] = Field(default_factory=dict)
    auth_realm: str = "voxline"
    auth_challenge: Literal["www", "proxy"] = "www"  # 401 WWW- or 407 Proxy-Authenticate
    ring_ms: int = Field(default=0, ge=0, le=60000)  # ring before answering (0: answer now)
    max_calls: int = Field(default=20, ge=1)  # concurrent SIP calls per worker
    # Outbound calls (dialer): the trunk's SIP URI and its digest credentials.
    trunk_uri: str | None = None
    trunk_username: str | None = None
    trunk_password: SecretStr | None = None

    @field_validator("allow_from")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(n.strip(), strict=False)) for n in networks]

    @model_validator(mode="after")
    def _consistent(self) -> SIPSettings:
        if self.rtp_port_min >= self.rtp_port_max:
            raise ValueError(
                f"rtp_port_min ({self.rtp_port_min}) must be below rtp_port_max "
                f"({self.rtp_port_max})"
            )
        address = self.public_address or self.host
        if ipaddress.ip_address(address).is_unspecified:
            raise ValueError(
                f"SIP host {self.host} is not an address callers can send media to: set "
                "VOXLINE_SIP__PUBLIC_ADDRESS to the address that goes into Contact and SDP"
            )
        return self

    @property
    def media_address(self) -> str:
        return self.public_address or self.host


class IdentifierPattern(BaseModel):
    """An identifier a deployment treats as personal data (a medical record number, an
    insurance member ID): found after one of its cues, when the letters and digits said
    (spelled or written, spaces dropped, upper-cased) match `pattern` in full."""

    model_config = {"extra": "forbid"}
    type: str  # the placeholder's name: [MRN_1]
    pattern: str  # a Python regex over e.g. "AB1234567"
    cues: list[str] = Field(default_factory=list)  # lower-case phrases said before the value
    require_cue: bool = True  # False: a written match anywhere counts too

    @field_validator("type")
    @classmethod
    def _type_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
            raise ValueError(f"{value!r}: an identifier type is upper-case, like MRN or MEMBER_ID")
        return value

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"identifier pattern {value!r} is not a valid regex: {err}") from None
        return value

    @model_validator(mode="after")
    def _findable(self) -> IdentifierPattern:
        if self.require_cue and not self.cues:
            raise ValueError(f"identifier {self.type} requires a cue but lists none: add cues")
        return self


def _default_identifiers() -> list[IdentifierPattern]:
    return [
        IdentifierPattern(
            type="MRN",
            pattern=r"[A-Z]{0,3}\d{5,10}",
            cues=["medical record number", "medical record", "mrn", "chart number",
                  "record number", "patient id", "patient number"],
        ),
        IdentifierPattern(
            type="MEMBER_ID",
            pattern=r"[A-Z]{0,4}\d{6,12}",
            cues=["member id", "member number", "member i d", "insurance id", "insurance number",
                  "policy number", "subscriber id", "subscriber number", "group number"],
        ),
    ]


class PrivacyDetectionSettings(BaseModel):
    """What counts as personal data in a transcript (privacy/detect)."""

    model_config = {"extra": "forbid"}
    # Built-in types to look for: PHONE EMAIL SSN CARD DOB ADDRESS NAME.
    types: list[str] = Field(
        default_factory=lambda: ["PHONE", "EMAIL", "SSN", "CARD", "DOB", "ADDRESS", "NAME"]
    )
    identifiers: list[IdentifierPattern] = Field(default_factory=_default_identifiers)

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        known = {"PHONE", "EMAIL", "SSN", "CARD", "DOB", "ADDRESS", "NAME"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"unknown PII types {unknown}; built-in types are {sorted(known)} "
                "(other identifiers go in identifiers)"
            )
        return value


class PrivacySettings(BaseModel):
    """Personal data: the per-call vault, what the agent may say back, HIPAA mode, recording,
    retention and the audit log (docs/privacy.md)."""

    model_config = {"extra": "forbid"}
    # The LLM, logs, traces and records see placeholders ([PHONE_1]) instead of what was said.
    redaction: bool = True
    # Types the agent may say back in full (a confirmation read-back), e.g. ["NAME", "PHONE"];
    # any other placeholder is spoken in a safe form ("the number ending in 34").
    read_back: list[str] = Field(default_factory=lambda: ["NAME"])
    # HIPAA mode: start-up refuses third-party STUN/TURN, providers without a BAA mark, and
    # unencrypted recording (privacy/hipaa.py).
    hipaa: bool = False
    # Providers covered by a Business Associate Agreement: "vendor/model" or "vendor/*".
    # Embedded local providers never send data anywhere and count as covered.
    baa_providers: list[str] = Field(default_factory=list)
    # Per-call recording of both sides: off, plain WAV, or AES-256-GCM encrypted at rest with
    # the 32-byte key (hex or base64) in the environment variable named by recording_key_env.
    recording: Literal["off", "wav", "encrypted"] = "off"
    recording_key_env: str = "VOXLINE_RECORDING_KEY"
    recordings_dir: Path = Path("var/recordings")
    # Calls (and their turns, events, recordings) older than this are deleted by
    # `voxline records purge`; HIPAA mode requires a window.
    retention_days: int | None = Field(default=None, gt=0)
    # Append-only JSON lines: who read or purged which call records, and when.
    audit_log: Path = Path("var/audit.jsonl")
    # What is detected: built-in types and configured identifiers (MRN, member ID).
    detection: PrivacyDetectionSettings = Field(default_factory=PrivacyDetectionSettings)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VOXLINE_",
        env_nested_delimiter="__",
        toml_file=os.environ.get("VOXLINE_CONFIG", "voxline.toml"),
        extra="forbid",
    )

    # A provider is "vendor/model"; a list is a fallback chain, first choice first.
    # Encodes the utterance, not 30 s: ~55 ms instead of ~450 (bench/results/local_stt_choice.json).
    stt: str | list[str] = "local/whisper-tiny.en-window"
    llm: str | list[str] = "local/qwen2.5-coder-0.5b-instruct"
    tts: str | list[str] = "local/piper-joe-medium"
    endpointing: EndpointingSettings = Field(default_factory=EndpointingSettings)
    webrtc: WebRTCSettings = Field(default_factory=WebRTCSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    sip: SIPSettings = Field(default_factory=SIPSettings)
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

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
    # Silence from ElevenLabs while text is pending, before the turn falls back or apologises:
    # flash answers in ~75 ms, so 2 s is a fault, and dead air longer than that loses callers.
    elevenlabs_audio_timeout_s: float = 2.0

    # Threads given to each local model; they take turns (providers/local/compute.py).
    stt_threads: int = 2
    llm_threads: int = 2
    tts_threads: int = 2

    context_max_tokens: int = 2000
    reply_max_tokens: int = 160

    host: str = "127.0.0.1"
    port: int = 8080
    # The worker's event loop. "uvloop" (libuv) spends less CPU per socket event and timer, which
    # is most of a phone call's cost; "asyncio" is the standard library's.
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"
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

    @model_validator(mode="after")
    def _hipaa(self) -> Settings:
        from voxline.privacy.hipaa import enforce  # raises ConfigError, not a validation error

        enforce(self)
        return self

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
