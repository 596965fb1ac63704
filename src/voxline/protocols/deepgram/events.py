"""Server messages read into typed events (what the client acts on).

Every field is checked for presence and type, so a malformed or truncated message becomes one
ProtocolViolation here rather than a KeyError somewhere in the turn engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxline.errors import ProtocolViolation
from voxline.protocols.json_object import load_json_object


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float
    punctuated_word: str | None = None


@dataclass(frozen=True)
class Results:
    transcript: str
    confidence: float
    is_final: bool
    speech_final: bool
    from_finalize: bool
    start: float
    duration: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class SpeechStarted:
    timestamp: float


@dataclass(frozen=True)
class UtteranceEnd:
    last_word_end: float


@dataclass(frozen=True)
class Metadata:
    request_id: str
    duration: float


@dataclass(frozen=True)
class Unknown:
    """A message type this module does not know (a newer server): callers ignore it."""

    type: str


Event = Results | SpeechStarted | UtteranceEnd | Metadata | Unknown


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        value = None  # JSON true is not a number
    if not isinstance(value, kind):
        raise ProtocolViolation(f"Deepgram {where}: field {key!r} is missing or has the wrong type")
    return value


_NUMBER = (int, float)


def _optional_bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ProtocolViolation(f"Deepgram Results: field {key!r} is not a boolean")
    return value


def _parse_results(data: dict[str, Any]) -> Results:
    channel = _field(data, "channel", dict, "Results")
    alternatives = _field(channel, "alternatives", list, "Results.channel")
    if not alternatives or not isinstance(alternatives[0], dict):
        raise ProtocolViolation("Deepgram Results: channel.alternatives is empty")
    best = alternatives[0]
    words = []
    for raw in _field(best, "words", list, "Results alternative") if "words" in best else []:
        punctuated = raw.get("punctuated_word") if isinstance(raw, dict) else None
        words.append(
            Word(
                word=_field(raw, "word", str, "Results word"),
                start=float(_field(raw, "start", _NUMBER, "Results word")),
                end=float(_field(raw, "end", _NUMBER, "Results word")),
                confidence=float(_field(raw, "confidence", _NUMBER, "Results word")),
                punctuated_word=punctuated if isinstance(punctuated, str) else None,
            )
        )
    is_final = _optional_bool(data, "is_final")
    return Results(
        transcript=_field(best, "transcript", str, "Results alternative"),
        confidence=float(_field(best, "confidence", _NUMBER, "Results alternative")),
        is_final=is_final,
        speech_final=_optional_bool(data, "speech_final"),
        from_finalize=_optional_bool(data, "from_finalize"),
        start=float(_field(data, "start", _NUMBER, "Results")),
        duration=float(_field(data, "duration", _NUMBER, "Results")),
        words=tuple(words),
    )


def parse(text: str | bytes) -> Event:
    """One server message to an event; ProtocolViolation says what was wrong with it."""
    data = load_json_object(text, "Deepgram")
    kind = _field(data, "type", str, "message")
    if kind == "Results":
        return _parse_results(data)
    if kind == "SpeechStarted":
        return SpeechStarted(float(_field(data, "timestamp", _NUMBER, "SpeechStarted")))
    if kind == "UtteranceEnd":
        return UtteranceEnd(float(_field(data, "last_word_end", _NUMBER, "UtteranceEnd")))
    if kind == "Metadata":
        return Metadata(
            request_id=_field(data, "request_id", str, "Metadata"),
            duration=float(_field(data, "duration", _NUMBER, "Metadata")),
        )
    return Unknown(kind)

