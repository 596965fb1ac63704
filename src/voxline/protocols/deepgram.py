"""Deepgram live streaming (``/v1/listen``, Nova models): the wire format, with no I/O.

Client to server: binary frames of raw audio, and text frames ``{"type": "KeepAlive"}``,
``{"type": "Finalize"}``, ``{"type": "CloseStream"}``. Server to client: JSON text frames of type
``Results``, ``SpeechStarted``, ``UtteranceEnd`` and ``Metadata``. The client (providers/deepgram)
and the local fake server (testing/deepgram_server) both build and parse through this module,
so they share one definition of the format.

Rules both sides rely on:

1. Every time (``start``, ``duration``, word times, ``SpeechStarted.timestamp``,
   ``UtteranceEnd.last_word_end``, ``Metadata.duration``) is seconds of audio received on
   *this connection*: the clock restarts at 0 on a new connection.
2. Final results (``is_final``) do not overlap and come in order; each covers
   ``[start, start + duration)``. Interim results for that span may come before it.
3. ``speech_final`` is only set on a final result: the endpointing silence was seen.
4. ``from_finalize`` is set on the final result that answers a ``Finalize`` message.
5. ``UtteranceEnd`` needs ``interim_results=true``; it comes once ``utterance_end_ms`` of silence
   follows the last finalized word.
6. ``CloseStream``: the server finalizes what it holds, sends ``Metadata``, then closes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from voxline.errors import ProtocolViolation

ENCODINGS = ("linear16", "mulaw", "alaw")  # the raw encodings voxline sends
CONTROL_TYPES = ("KeepAlive", "Finalize", "CloseStream")


# -- client to server -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListenParams:
    """The query parameters of a live ``/v1/listen`` request that voxline uses."""

    model: str
    encoding: str
    sample_rate: int
    channels: int = 1
    interim_results: bool = True
    punctuate: bool = True
    smart_format: bool = True
    endpointing_ms: int | None = 300  # None: endpointing=false
    vad_events: bool = True
    utterance_end_ms: int | None = 1000  # None: no UtteranceEnd messages


def _flag(value: bool) -> str:
    return "true" if value else "false"


def listen_url(
    base_url: str,
    model: str,
    *,
    encoding: str,
    sample_rate: int,
    channels: int = 1,
    interim_results: bool = True,
    punctuate: bool = True,
    smart_format: bool = True,
    endpointing_ms: int | None = 300,
    vad_events: bool = True,
    utterance_end_ms: int | None = 1000,
) -> str:
    """The WebSocket URL of a live transcription request (the API key goes in a header)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unsupported Deepgram encoding {encoding!r}; use one of {ENCODINGS}")
    if sample_rate <= 0 or channels <= 0:
        raise ValueError(f"sample_rate and channels must be positive: {sample_rate}, {channels}")
    if utterance_end_ms is not None and not interim_results:
        raise ValueError("utterance_end_ms needs interim_results=True (Deepgram's rule)")
    query = {
        "model": model,
        "encoding": encoding,
        "sample_rate": str(sample_rate),
        "channels": str(channels),
        "interim_results": _flag(interim_results),
        "punctuate": _flag(punctuate),
        "smart_format": _flag(smart_format),
        "endpointing": "false" if not endpointing_ms else str(int(endpointing_ms)),
        "vad_events": _flag(vad_events),
    }
    if utterance_end_ms is not None:
        query["utterance_end_ms"] = str(int(utterance_end_ms))
    parts = urlsplit(base_url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"Deepgram base_url must be ws:// or wss://, got {base_url!r}")
    existing = dict(parse_qsl(parts.query))
    existing.update(query)
    return urlunsplit(parts._replace(query=urlencode(existing)))


def parse_listen_query(query: str) -> ListenParams:
    """The server side of `listen_url`: read and check the query string."""
    q = dict(parse_qsl(query))

    def flag(name: str, default: bool) -> bool:
        value = q.get(name, _flag(default)).lower()
        if value not in ("true", "false"):
            raise ProtocolViolation(f"query parameter {name}={value!r} is not true/false")
        return value == "true"

    def number(name: str) -> int:
        try:
            value = int(q[name])
        except (KeyError, ValueError):
            raise ProtocolViolation(f"query parameter {name} is missing or not a number") from None
        if value <= 0:
            raise ProtocolViolation(f"query parameter {name}={value} must be positive")
        return value

    encoding = q.get("encoding", "")
    if encoding not in ENCODINGS:
        raise ProtocolViolation(f"encoding={encoding!r} is not one of {ENCODINGS}")
    endpointing = q.setdefault("endpointing", "10")  # Deepgram's default is 10 ms
    return ListenParams(
        model=q.get("model", "base"),
        encoding=encoding,
        sample_rate=number("sample_rate"),
        channels=number("channels") if "channels" in q else 1,
        interim_results=flag("interim_results", False),
        punctuate=flag("punctuate", False),
        smart_format=flag("smart_format", False),
        endpointing_ms=None if endpointing.lower() == "false" else number("endpointing"),
        vad_events=flag("vad_events", False),
        utterance_end_ms=number("utterance_end_ms") if "utterance_end_ms" in q else None,
    )


def keepalive() -> str:
    return json.dumps({"type": "KeepAlive"})


def finalize() -> str:
    return json.dumps({"type": "Finalize"})


def close_stream() -> str:
    return json.dumps({"type": "CloseStream"})


def parse_control(text: str) -> str:
    """The type of a client control message: KeepAlive, Finalize or CloseStream."""
    data = _load(text)
    kind = data.get("type")
    if kind not in CONTROL_TYPES:
        raise ProtocolViolation(f"control message type {kind!r} is not one of {CONTROL_TYPES}")
    return str(kind)


# -- server to client -------------------------------------------------------------------------


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


def _load(text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        # No excerpt of the text: it may hold a caller's words.
        raise ProtocolViolation(f"Deepgram message is not JSON ({err})") from None
    if not isinstance(data, dict):
        raise ProtocolViolation(f"Deepgram message is a JSON {type(data).__name__}, not an object")
    return data


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
    data = _load(text)
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


def make_words(transcript: str, start: float, end: float, confidence: float) -> tuple[Word, ...]:
    """Spread a transcript's words evenly over ``[start, end]`` (for the fake server)."""
    tokens = transcript.split()
    if not tokens:
        return ()
    step = max(end - start, 0.0) / len(tokens)
    return tuple(
        Word(
            word=token.strip(".,!?;:").lower() or token,
            start=round(start + i * step, 3),
            end=round(start + (i + 1) * step, 3),
            confidence=confidence,
            punctuated_word=token,
        )
        for i, token in enumerate(tokens)
    )


def results_message(
    transcript: str,
    *,
    start: float,
    duration: float,
    is_final: bool,
    speech_final: bool = False,
    from_finalize: bool = False,
    confidence: float = 0.0,
    words: tuple[Word, ...] = (),
    request_id: str = "",
    channels: int = 1,
) -> str:
    word_list = []
    for w in words:
        item: dict[str, Any] = {
            "word": w.word, "start": w.start, "end": w.end, "confidence": w.confidence
        }
        if w.punctuated_word is not None:
            item["punctuated_word"] = w.punctuated_word
        word_list.append(item)
    return json.dumps(
        {
            "type": "Results",
            "channel_index": [0, channels],
            "duration": round(duration, 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {"transcript": transcript, "confidence": confidence, "words": word_list}
                ]
            },
            "metadata": {
                "request_id": request_id,
                "model_info": {"name": "voxline-fake", "version": "0", "arch": "fake"},
                "model_uuid": "00000000-0000-0000-0000-000000000000",
            },
            "from_finalize": from_finalize,
        }
    )


def speech_started_message(timestamp: float, channels: int = 1) -> str:
    return json.dumps(
        {"type": "SpeechStarted", "channel": [0, channels], "timestamp": round(timestamp, 3)}
    )


def utterance_end_message(last_word_end: float, channels: int = 1) -> str:
    return json.dumps(
        {"channel": [0, channels], "last_word_end": round(last_word_end, 3), "type": "UtteranceEnd"}
    )


def metadata_message(
    request_id: str, duration: float, channels: int = 1, *, created: str = "", sha256: str = ""
) -> str:
    return json.dumps(
        {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": request_id,
            "sha256": sha256,
            "created": created,
            "duration": round(duration, 3),
            "channels": channels,
        }
    )
