"""The handshake URL of a stream-input socket: voice, model and options in the query string."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from voxline.errors import ConfigError
from voxline.protocols.elevenlabs.output_formats import format_info

MAX_INACTIVITY_TIMEOUT_S = 180  # the API's ceiling; its default is 20


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
