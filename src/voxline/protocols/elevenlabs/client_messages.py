"""What the client sends: built by the client, read back by the (fake) server.

Flush, keep-alive and close are all `{"text": ...}` messages told apart only by their body,
so they are built in one place, each next to the rule it follows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voxline.errors import ConfigError, ProtocolViolation
from voxline.protocols.json_object import load_json_object

KEEPALIVE_TEXT = " "


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
    msg = load_json_object(text, "ElevenLabs client", text_only=True)
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
