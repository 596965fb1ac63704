"""Reading one text frame of a JSON-over-WebSocket protocol as a JSON object.

Errors name the protocol and what was wrong, never an excerpt of the frame: frames carry what
callers said and what the agent answered.
"""

from __future__ import annotations

import json
from typing import Any

from voxline.errors import ProtocolViolation


def load_json_object(
    text: str | bytes,
    who: str,
    error: type[Exception] = ProtocolViolation,
    *,
    text_only: bool = False,
) -> dict[str, Any]:
    """The frame as a dict, or `error` saying why it is not one (`who` sent it)."""
    if text_only and isinstance(text, bytes):
        raise error(f"{who} sent a binary frame; the protocol is JSON text")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise error(f"{who} sent a frame that is not JSON ({err})") from None
    if not isinstance(data, dict):
        raise error(f"{who} sent a JSON {type(data).__name__}, not an object")
    return data
