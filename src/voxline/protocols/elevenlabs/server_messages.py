"""What the server sends: audio with its timings, the end, or an error; read and written.

The reader is strict, so that a malformed frame becomes one ProtocolViolation here and never
a wrong cut of the audio between clauses later.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voxline.errors import ProtocolViolation
from voxline.protocols.json_object import load_json_object

Alignment = tuple[tuple[str, float, float], ...]  # (character, start_ms, duration_ms)


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
    msg = load_json_object(text, "ElevenLabs server", text_only=True)
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
