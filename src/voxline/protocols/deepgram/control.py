"""Client control messages (text frames between the binary audio frames), both directions."""

from __future__ import annotations

import json

from voxline.errors import ProtocolViolation
from voxline.protocols.json_object import load_json_object

CONTROL_TYPES = ("KeepAlive", "Finalize", "CloseStream")


def keepalive() -> str:
    return json.dumps({"type": "KeepAlive"})


def finalize() -> str:
    return json.dumps({"type": "Finalize"})


def close_stream() -> str:
    return json.dumps({"type": "CloseStream"})


def parse_control(text: str) -> str:
    """The type of a client control message: KeepAlive, Finalize or CloseStream."""
    data = load_json_object(text, "Deepgram")
    kind = data.get("type")
    if kind not in CONTROL_TYPES:
        raise ProtocolViolation(f"control message type {kind!r} is not one of {CONTROL_TYPES}")
    return str(kind)
