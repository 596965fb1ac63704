"""ElevenLabs text-to-speech "stream-input" WebSocket: the wire format, both directions, no I/O.

One socket serves one generation (ElevenLabs' API reference, asyncapi `/v1/text-to-speech/
{voice_id}/stream-input`):

1. Handshake: `GET wss://api.elevenlabs.io/v1/text-to-speech/{voice_id}/stream-input?model_id=..
   &output_format=..&inactivity_timeout=..&sync_alignment=..&auto_mode=..`, key in the
   `xi-api-key` header (or in the first message).
2. First message: `{"text": " ", "voice_settings": {...}, "generation_config":
   {"chunk_length_schedule": [...]}, "xi_api_key": "..."}` (text is a single space).
3. Text: `{"text": "Hello there. ", "try_trigger_generation": true}`; text ends with one space.
   `"flush": true` forces generation of what is buffered. `{"text": " "}` alone only resets the
   inactivity timer (the documented keep-alive).
4. Close: `{"text": ""}` generates what is left, then the server sends `{"isFinal": true}`.
5. Server: `{"audio": "<base64 in output_format>", "isFinal": false, "alignment": {"chars": [..],
   "charStartTimesMs": [..], "charDurationsMs": [..]}, "normalizedAlignment": {...}}`; times are
   relative to that chunk. The asyncapi spells the durations `charsDurationsMs`; the live API (and
   every client we know of) sends `charDurationsMs`. Both are accepted; `charDurationsMs` is built.
6. Errors: `{"message": "...", "error": "invalid_api_key", "code": 1008}`, then a close (1008).

`optimize_streaming_latency` is deprecated in the reference and is not sent; `auto_mode` (which
disables the chunk schedule and buffers, for callers that send whole phrases) is the current
latency option.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from voxline.errors import ConfigError, ProtocolViolation

# output_format -> (encoding, sample rate). Each is one the API documents for stream-input.
OUTPUT_FORMATS: dict[str, tuple[str, int]] = {
    "pcm_16000": ("pcm", 16000),
    "pcm_22050": ("pcm", 22050),
    "pcm_24000": ("pcm", 24000),
    "ulaw_8000": ("ulaw", 8000),
    "mp3_44100_128": ("mp3", 44100),
}

MAX_INACTIVITY_TIMEOUT_S = 180  # the API's ceiling; its default is 20
KEEPALIVE_TEXT = " "

Alignment = tuple[tuple[str, float, float], ...]  # (character, start_ms, duration_ms)


def format_info(output_format: str) -> tuple[str, int]:
    """(encoding, rate) of an output format, or ConfigError naming the supported ones."""
    try:
        return OUTPUT_FORMATS[output_format]
    except KeyError:
        raise ConfigError(
            f"unsupported ElevenLabs output_format {output_format!r}; use one of: "
            + ", ".join(OUTPUT_FORMATS)
        ) from None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def stream_input_url(
    base_url: str,
    voice_id: str,
    *,
    model_id: str = "eleven_flash_v2_5",
    output_format: str = "pcm_16000",
    inactivity_timeout: int = MAX_INACTIVITY_TIMEOUT_S,
    sync_alignment: bool = True,
    auto_mode: bool = True,
    language_code: str | None = None,
) -> str:
    """The handshake URL. Defaults are voxline's choices, not the API's (20 s, false, false):
    pooled sockets wait idle, every chunk needs timings, and clauses arrive as whole phrases."""
    format_info(output_format)
    if not voice_id:
        raise ConfigError("ElevenLabs voice_id is empty; set it to a voice from your account")
    if not 1 <= inactivity_timeout <= MAX_INACTIVITY_TIMEOUT_S:
        raise ConfigError(
            f"inactivity_timeout must be 1..{MAX_INACTIVITY_TIMEOUT_S} s, got {inactivity_timeout}"
        )
    query: dict[str, str] = {
        "model_id": model_id,
        "output_format": output_format,
        "inactivity_timeout": str(inactivity_timeout),
        "sync_alignment": _flag(sync_alignment),
        "auto_mode": _flag(auto_mode),
    }
    if language_code:
        query["language_code"] = language_code
    path = f"/v1/text-to-speech/{quote(voice_id, safe='')}/stream-input"
    return base_url.rstrip("/") + path + "?" + urlencode(query)


# -- client messages -------------------------------------------------------------------------


def init_message(
    api_key: str | None = None,
    voice_settings: dict[str, Any] | None = None,
    chunk_length_schedule: Sequence[int] | None = None,
) -> str:
    """The first message. Leave `api_key` out when it travels in the `xi-api-key` header."""
    msg: dict[str, Any] = {"text": " "}
    if voice_settings:
        msg["voice_settings"] = dict(voice_settings)
    if chunk_length_schedule:
        for n in chunk_length_schedule:
            if not 50 <= n <= 500:
                raise ConfigError(f"chunk_length_schedule items must be 50..500, got {n}")
        msg["generation_config"] = {"chunk_length_schedule": list(chunk_length_schedule)}
    if api_key:
        msg["xi_api_key"] = api_key
    return json.dumps(msg)


def text_message(text: str, flush: bool = False, try_trigger_generation: bool = True) -> str:
    """Text to speak; a trailing space is added when missing, as the API asks."""
    if not text.strip():
        raise ValueError("text_message needs some text; use close_message() to end the stream")
    if not text.endswith(" "):
        text += " "
    msg: dict[str, Any] = {"text": text, "try_trigger_generation": try_trigger_generation}
    if flush:
        msg["flush"] = True
    return json.dumps(msg)


def flush_message() -> str:
    """Generate whatever is buffered now, keeping the socket open."""
    return json.dumps({"text": " ", "flush": True})


def keepalive_message() -> str:
    """A single space: resets the server's inactivity timer and adds nothing to speak."""
    return json.dumps({"text": KEEPALIVE_TEXT})


def close_message() -> str:
    """End of input: the server generates the rest, sends isFinal and closes."""
    return json.dumps({"text": ""})


# -- server messages, parsed by the client ---------------------------------------------------


@dataclass(frozen=True)
class AudioMessage:
    audio: bytes  # in the socket's output_format; empty on the final message
    is_final: bool
    alignment: Alignment | None


@dataclass(frozen=True)
class ErrorMessage:
    error: str  # machine-readable, e.g. "invalid_api_key"
    message: str
    code: int | None = None


def _load(text: str | bytes, who: str) -> dict[str, Any]:
    if isinstance(text, bytes):
        raise ProtocolViolation(f"ElevenLabs {who} sent a binary frame; the protocol is JSON text")
    try:
        msg = json.loads(text)
    except ValueError:
        raise ProtocolViolation(
            f"ElevenLabs {who} sent a frame that is not JSON: {text[:80]!r}"
        ) from None
    if not isinstance(msg, dict):
        raise ProtocolViolation(f"ElevenLabs {who} sent JSON that is not an object: {text[:80]!r}")
    return msg


def _alignment(raw: Any) -> Alignment | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolViolation(f"alignment is not an object: {raw!r:.80}")
    chars = raw.get("chars")
    starts = raw.get("charStartTimesMs")
    durations = raw.get("charDurationsMs", raw.get("charsDurationsMs"))
    if not all(isinstance(v, list) for v in (chars, starts, durations)):
        raise ProtocolViolation(
            "alignment needs lists chars, charStartTimesMs and charDurationsMs"
        )
    assert isinstance(chars, list) and isinstance(starts, list) and isinstance(durations, list)
    if not len(chars) == len(starts) == len(durations):
        raise ProtocolViolation(
            f"alignment lists differ in length: {len(chars)} chars, {len(starts)} starts, "
            f"{len(durations)} durations"
        )
    out = []
    for c, s, d in zip(chars, starts, durations):
        if not isinstance(c, str) or isinstance(s, bool) or isinstance(d, bool):
            raise ProtocolViolation(f"bad alignment entry ({c!r}, {s!r}, {d!r})")
        if not isinstance(s, int | float) or not isinstance(d, int | float) or s < 0 or d < 0:
            raise ProtocolViolation(f"bad alignment timing ({c!r}, {s!r}, {d!r})")
        out.append((c, float(s), float(d)))
    return tuple(out)


def parse(text: str | bytes) -> AudioMessage | ErrorMessage:
    """One server frame. Raises ProtocolViolation on anything the protocol does not allow."""
    msg = _load(text, "server")
    if msg.get("error") is not None or ("message" in msg and "audio" not in msg):
        code = msg.get("code")
        return ErrorMessage(
            error=str(msg.get("error") or "error"),
            message=str(msg.get("message") or msg.get("error")),
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        )
    is_final = msg.get("isFinal")
    if is_final is not None and not isinstance(is_final, bool):
        raise ProtocolViolation(f"isFinal is not a boolean: {is_final!r}")
    raw_audio = msg.get("audio")
    if raw_audio is None and not is_final:
        raise ProtocolViolation(f"server message has no audio, isFinal or error: {text[:80]!r}")
    audio = b""
    if raw_audio is not None:
        if not isinstance(raw_audio, str):
            raise ProtocolViolation("audio is not a base64 string")
        try:
            audio = base64.b64decode(raw_audio, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolViolation("audio is not valid base64") from None
    # `alignment` follows the text as sent (what the turn engine maps to clauses);
    # `normalizedAlignment` follows the normalised text ("3" -> "three"), used only as a fallback.
    raw_alignment = msg.get("alignment") or msg.get("normalizedAlignment")
    return AudioMessage(audio=audio, is_final=bool(is_final), alignment=_alignment(raw_alignment))


# -- server side: what a server sends, and how it reads the client ---------------------------


def _alignment_json(alignment: Sequence[tuple[str, float, float]]) -> dict[str, list[Any]]:
    return {
        "chars": [c for c, _, _ in alignment],
        "charStartTimesMs": [round(s) for _, s, _ in alignment],
        "charDurationsMs": [round(d) for _, _, d in alignment],
    }


def audio_message(audio: bytes, alignment: Sequence[tuple[str, float, float]] | None = None) -> str:
    msg: dict[str, Any] = {"audio": base64.b64encode(audio).decode("ascii"), "isFinal": False}
    if alignment is not None:
        msg["alignment"] = _alignment_json(alignment)
        msg["normalizedAlignment"] = _alignment_json(alignment)
    return json.dumps(msg)


def final_message() -> str:
    return json.dumps({"audio": None, "isFinal": True})


def error_message(error: str, message: str, code: int | None = 1008) -> str:
    return json.dumps({"message": message, "error": error, "code": code})


@dataclass(frozen=True)
class ClientMessage:
    text: str
    flush: bool = False
    try_trigger_generation: bool = False
    api_key: str | None = None
    voice_settings: dict[str, Any] | None = None
    chunk_length_schedule: tuple[int, ...] | None = None

    @property
    def is_close(self) -> bool:
        return self.text == "" and not self.flush


def parse_client(text: str | bytes) -> ClientMessage:
    """One client frame, for servers. Raises ProtocolViolation on anything malformed."""
    msg = _load(text, "client")
    body = msg.get("text")
    if not isinstance(body, str):
        raise ProtocolViolation("every stream-input message needs a string `text`")
    key = msg.get("xi_api_key", msg.get("xi-api-key"))
    schedule = None
    config = msg.get("generation_config") or msg.get("generator_config")
    if isinstance(config, dict) and config.get("chunk_length_schedule") is not None:
        raw = config["chunk_length_schedule"]
        if not isinstance(raw, list) or not all(isinstance(n, int | float) for n in raw):
            raise ProtocolViolation("chunk_length_schedule must be a list of numbers")
        schedule = tuple(int(n) for n in raw)
    settings = msg.get("voice_settings")
    return ClientMessage(
        text=body,
        flush=bool(msg.get("flush", False)),
        try_trigger_generation=bool(msg.get("try_trigger_generation", False)),
        api_key=key if isinstance(key, str) else None,
        voice_settings=settings if isinstance(settings, dict) else None,
        chunk_length_schedule=schedule,
    )
