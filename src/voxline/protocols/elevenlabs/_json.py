"""Reading one stream-input frame as a JSON object, shared by both directions."""

from __future__ import annotations

import json
from typing import Any

from voxline.errors import ProtocolViolation


def load_frame(text: str | bytes, who: str) -> dict[str, Any]:
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
