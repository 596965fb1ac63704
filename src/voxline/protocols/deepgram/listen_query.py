"""The query string of a live ``/v1/listen`` request: built by the client, read by the server.

The options live in the URL (only the API key travels in a header), so choosing the model,
the audio format and the endpointing is all done here, before any message is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from voxline.errors import ProtocolViolation

ENCODINGS = ("linear16", "mulaw", "alaw")  # the raw encodings voxline sends


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

