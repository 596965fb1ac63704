"""The audio formats a stream-input socket can be asked for, and what each one is.

Only formats the API documents for stream-input are listed, so a typo in configuration fails at
start-up with the list to choose from, not at the first reply with a server error.
"""

from __future__ import annotations

from voxline.errors import ConfigError

# output_format -> (encoding, sample rate). Each is one the API documents for stream-input.
OUTPUT_FORMATS: dict[str, tuple[str, int]] = {
    "pcm_16000": ("pcm", 16000),
    "pcm_22050": ("pcm", 22050),
    "pcm_24000": ("pcm", 24000),
    "ulaw_8000": ("ulaw", 8000),
    "mp3_44100_128": ("mp3", 44100),
}


def format_info(output_format: str) -> tuple[str, int]:
    """(encoding, rate) of an output format, or ConfigError naming the supported ones."""
    try:
        return OUTPUT_FORMATS[output_format]
    except KeyError:
        raise ConfigError(
            f"unsupported ElevenLabs output_format {output_format!r}; use one of: "
            + ", ".join(OUTPUT_FORMATS)
        ) from None
