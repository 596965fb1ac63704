"""Reading one Deepgram text frame as a JSON object, shared by both directions."""

from __future__ import annotations

import json
from typing import Any

from voxline.errors import ProtocolViolation


def load_object(text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        # No excerpt of the text: it may hold a caller's words.
        raise ProtocolViolation(f"Deepgram message is not JSON ({err})") from None
    if not isinstance(data, dict):
        raise ProtocolViolation(f"Deepgram message is a JSON {type(data).__name__}, not an object")
    return data
