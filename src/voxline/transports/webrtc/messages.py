"""The signalling WebSocket's JSON messages, parsed and built without I/O.

Page -> server (one JSON object per text frame):
    {"type": "offer", "sdp": "v=0..."}                         exactly once, first
    {"type": "candidate", "candidate": "candidate:...", "sdpMid": "0", "sdpMLineIndex": 0}
    {"type": "end_of_candidates"}                              the page's null candidate
                                                               (a candidate "" means the same)
    {"type": "ice_state", "state": "disconnected"}             the browser's own ICE state
    {"type": "hangup"}

Server -> page:
    {"type": "answer", "sdp": "...", "call_id": "..."}         carries every server candidate
                                                               and a=end-of-candidates
    {"type": "connected", "call_id": "...", "setup_ms": 123.4} ICE connected (offer -> ICE)
    {"type": "error", "code": "...", "message": "...", "fatal": bool}
    {"type": "bye", "reason": "..."}                           the call ended; the socket closes

Rules:
1. Anything that is not a JSON object with a known "type" and well-typed fields is a
   `SignallingError` with a code the page can switch on; parsing never raises anything else.
2. A frame larger than MAX_MESSAGE_BYTES is refused before it is parsed.
3. Unknown extra fields are ignored (a newer page may send more); missing or mistyped required
   fields are errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# An Opus-only offer is ~2-6 KB; a candidate line ~200 bytes. 64 KiB is generous and bounded.
MAX_MESSAGE_BYTES = 64 * 1024

# The browser's RTCIceConnectionState values, the only ones `ice_state` accepts.
BROWSER_ICE_STATES = frozenset(
    {"new", "checking", "connected", "completed", "disconnected", "failed", "closed"}
)


class SignallingError(Exception):
    """A message the server cannot act on. `code` is stable; `message` says what to fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Offer:
    sdp: str


@dataclass(frozen=True)
class Candidate:
    candidate: str  # the a=candidate value, with or without the "candidate:" prefix
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True)
class EndOfCandidates:
    pass


@dataclass(frozen=True)
class BrowserIceState:
    state: str


@dataclass(frozen=True)
class Hangup:
    pass


ClientMessage = Offer | Candidate | EndOfCandidates | BrowserIceState | Hangup


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """One frame from the page, as a typed message; SignallingError for anything else."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise SignallingError(
            "message_too_large", f"message of {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}"
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise SignallingError("bad_json", f"not JSON: {err}") from None
    if not isinstance(data, dict):
        raise SignallingError("bad_message", "a message is a JSON object with a 'type'")
    kind = data.get("type")
    if kind == "offer":
        return Offer(_string(data, "sdp"))
    if kind == "candidate":
        if data.get("candidate") == "":
            # The spec's end-of-candidates for a generation (Firefox sends it; Chromium sends null).
            return EndOfCandidates()
        return _candidate(data)
    if kind == "end_of_candidates":
        return EndOfCandidates()
    if kind == "ice_state":
        state = _string(data, "state")
        if state not in BROWSER_ICE_STATES:
            raise SignallingError("bad_message", f"unknown ICE state {state!r}")
        return BrowserIceState(state)
    if kind == "hangup":
        return Hangup()
    raise SignallingError(
        "unknown_type",
        f"unknown message type {kind!r}; expected offer, candidate, end_of_candidates, "
        "ice_state or hangup",
    )


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise SignallingError("bad_message", f"{data.get('type')}: {key!r} must be a non-empty string")
    return value


def _candidate(data: dict[str, Any]) -> Candidate:
    mid = data.get("sdpMid")
    index = data.get("sdpMLineIndex")
    if mid is not None and not isinstance(mid, str):
        raise SignallingError("bad_message", "candidate: 'sdpMid' must be a string or null")
    if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
        raise SignallingError(
            "bad_message", "candidate: 'sdpMLineIndex' must be a non-negative integer or null"
        )
    if mid is None and index is None:
        raise SignallingError("bad_message", "candidate: needs 'sdpMid' or 'sdpMLineIndex'")
    return Candidate(_string(data, "candidate"), mid, index)


# -- server -> page ---------------------------------------------------------------------------


def answer(sdp: str, call_id: str) -> str:
    return json.dumps({"type": "answer", "sdp": sdp, "call_id": call_id})


def connected(call_id: str, setup_ms: float | None) -> str:
    return json.dumps({"type": "connected", "call_id": call_id, "setup_ms": setup_ms})


def error(code: str, message: str, *, fatal: bool = False) -> str:
    return json.dumps({"type": "error", "code": code, "message": message, "fatal": fatal})


def bye(reason: str) -> str:
    return json.dumps({"type": "bye", "reason": reason})
