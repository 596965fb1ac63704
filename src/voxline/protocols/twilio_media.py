"""Twilio Media Streams messages, both directions, as plain data (sans-IO).

Written from Twilio's documented message formats. Rules this module keeps:

1. Every message is one JSON object in one WebSocket text frame, with an ``"event"`` field.
2. Twilio sends ``connected`` first, then ``start``, then ``media`` every 20 ms, ``dtmf`` on a
   key press, ``mark`` when playout reaches a mark the app sent, and ``stop`` last.
3. Audio both ways is G.711 mu-law, 8 kHz, mono, base64 in ``payload``, no headers.
4. The app (a bidirectional ``<Connect><Stream>``) sends ``media``, ``mark`` and ``clear``, each
   naming the ``streamSid`` that Twilio gave in ``start``.
5. After ``clear`` Twilio drops the audio it has buffered and echoes every mark still queued,
   so an echo after a clear does not mean the audio before it was played.
6. Numbers Twilio sends as strings (``sequenceNumber``, ``chunk``, ``timestamp``) are parsed as
   integers; an event name this module does not know is returned as ``UnknownEvent``, not an
   error, so a newer Twilio does not break a call.

The app side uses `parse_from_twilio` and the ``*_to_twilio`` builders; the test client (which
plays Twilio) uses the ``twilio_*`` builders and `parse_from_app`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from voxline.errors import VoxlineError
from voxline.protocols.json_object import load_json_object

MULAW = "audio/x-mulaw"
RATE = 8000
FRAME_BYTES = 160  # 20 ms of mu-law at 8 kHz: one byte a sample


class TwilioMessageError(VoxlineError):
    """A frame that is not a well-formed Media Streams message (bad JSON, a missing field)."""


# -- what Twilio sends --------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaFormat:
    encoding: str
    sample_rate: int
    channels: int

    @property
    def is_mulaw_8k_mono(self) -> bool:
        return (self.encoding, self.sample_rate, self.channels) == (MULAW, RATE, 1)


@dataclass(frozen=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    media_format: MediaFormat
    custom_parameters: dict[str, str] = field(default_factory=dict)
    sequence: int | None = None


@dataclass(frozen=True)
class Media:
    stream_sid: str
    track: str
    chunk: int
    timestamp_ms: int
    payload: bytes  # mu-law bytes, decoded from base64
    sequence: int | None = None


@dataclass(frozen=True)
class Dtmf:
    stream_sid: str
    digit: str
    track: str = "inbound_track"
    sequence: int | None = None


@dataclass(frozen=True)
class Mark:
    """Twilio's echo: playout reached the mark `name` (or a clear dropped it, rule 5)."""

    stream_sid: str
    name: str
    sequence: int | None = None


@dataclass(frozen=True)
class Stop:
    stream_sid: str
    call_sid: str
    account_sid: str
    sequence: int | None = None


@dataclass(frozen=True)
class UnknownEvent:
    event: str
    data: dict[str, Any]


FromTwilio = Connected | Start | Media | Dtmf | Mark | Stop | UnknownEvent

# -- what the app sends ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlayMedia:
    stream_sid: str
    payload: bytes


@dataclass(frozen=True)
class PlayMark:
    stream_sid: str
    name: str


@dataclass(frozen=True)
class Clear:
    stream_sid: str


FromApp = PlayMedia | PlayMark | Clear | UnknownEvent


# -- parsing ------------------------------------------------------------------------------------


def _object(text: str | bytes) -> dict[str, Any]:
    data = load_json_object(text, "Twilio", TwilioMessageError)
    if not isinstance(data.get("event"), str):
        raise TwilioMessageError("no string 'event' field")
    return data


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise TwilioMessageError(f"{where}: field {key!r} is missing or not a {kind.__name__}")
    return value


def _number(data: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = data.get(key, default)
    try:
        return int(value)  # Twilio sends these as strings of digits
    except (TypeError, ValueError):
        raise TwilioMessageError(f"{where}: field {key!r} is not a number: {value!r}") from None


def _sequence(data: dict[str, Any]) -> int | None:
    if data.get("sequenceNumber") is None:
        return None
    return _number(data, "sequenceNumber", data["event"])


def _payload(body: dict[str, Any], where: str) -> bytes:
    text = _field(body, "payload", str, where)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise TwilioMessageError(f"{where}: payload is not base64") from None


# The layout Twilio gives every inbound `media` message (50 a second a call): keys in this order,
# no spaces, numbers as digit strings. Only characters that JSON never escapes can match, so a
# match reads exactly as json.loads would read it; anything else takes the general path.
_MEDIA = re.compile(
    r'\{"event":"media","sequenceNumber":"(\d{1,18})","media":\{"track":"([a-z]{1,16})",'
    r'"chunk":"(\d{1,18})","timestamp":"(\d{1,18})","payload":"([A-Za-z0-9+/]*={0,2})"\},'
    r'"streamSid":"([A-Za-z0-9]{0,64})"\}'
)


def _fast_media(text: str | bytes) -> Media | None:
    """A `media` message in Twilio's own layout, without the JSON parser; None otherwise."""
    if not isinstance(text, str) or (m := _MEDIA.fullmatch(text)) is None:
        return None
    seq, track, chunk, timestamp, payload, stream_sid = m.groups()
    try:
        audio = binascii.a2b_base64(payload, strict_mode=True)
    except binascii.Error:
        return None  # the general path says what is wrong with it
    return Media(stream_sid, track, int(chunk), int(timestamp), audio, int(seq))


def parse_from_twilio(text: str | bytes) -> FromTwilio:
    """One frame Twilio sent, as an event. Raises TwilioMessageError for a malformed one."""
    if (media := _fast_media(text)) is not None:
        return media
    data = _object(text)
    event = data["event"]
    seq = _sequence(data)
    if event == "connected":
        return Connected(str(data.get("protocol", "")), str(data.get("version", "")))
    if event == "start":
        body = _field(data, "start", dict, "start")
        fmt = _field(body, "mediaFormat", dict, "start")
        params = body.get("customParameters") or {}
        if not isinstance(params, dict):
            raise TwilioMessageError("start: customParameters is not an object")
        return Start(
            stream_sid=_field(body, "streamSid", str, "start"),
            call_sid=_field(body, "callSid", str, "start"),
            account_sid=str(body.get("accountSid", "")),
            tracks=tuple(str(t) for t in body.get("tracks") or ("inbound",)),
            media_format=MediaFormat(
                encoding=_field(fmt, "encoding", str, "start.mediaFormat"),
                sample_rate=_number(fmt, "sampleRate", "start.mediaFormat"),
                channels=_number(fmt, "channels", "start.mediaFormat", default=1),
            ),
            custom_parameters={str(k): str(v) for k, v in params.items()},
            sequence=seq,
        )
    stream_sid = str(data.get("streamSid", ""))
    if event == "media":
        body = _field(data, "media", dict, "media")
        return Media(
            stream_sid=stream_sid,
            track=str(body.get("track", "inbound")),
            chunk=_number(body, "chunk", "media", default=0),
            timestamp_ms=_number(body, "timestamp", "media", default=0),
            payload=_payload(body, "media"),
            sequence=seq,
        )
    if event == "dtmf":
        body = _field(data, "dtmf", dict, "dtmf")
        digit = _field(body, "digit", str, "dtmf")
        return Dtmf(stream_sid, digit, str(body.get("track", "inbound_track")), seq)
    if event == "mark":
        body = _field(data, "mark", dict, "mark")
        return Mark(stream_sid, _field(body, "name", str, "mark"), seq)
    if event == "stop":
        body = data.get("stop") or {}
        if not isinstance(body, dict):
            raise TwilioMessageError("stop: field 'stop' is not an object")
        return Stop(stream_sid, str(body.get("callSid", "")), str(body.get("accountSid", "")), seq)
    return UnknownEvent(event, data)


def parse_from_app(text: str | bytes) -> FromApp:
    """One frame the app sent to Twilio (what the test client reads)."""
    data = _object(text)
    event = data["event"]
    stream_sid = _field(data, "streamSid", str, event)
    if event == "media":
        return PlayMedia(stream_sid, _payload(_field(data, "media", dict, "media"), "media"))
    if event == "mark":
        return PlayMark(stream_sid, _field(_field(data, "mark", dict, "mark"), "name", str, "mark"))
    if event == "clear":
        return Clear(stream_sid)
    return UnknownEvent(event, data)


# -- building: the app to Twilio ------------------------------------------------------------------


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@functools.lru_cache(maxsize=1024)
def _json_string(text: str) -> str:
    return json.dumps(text)


def media_to_twilio(stream_sid: str, mulaw: bytes) -> str:
    # Sent 50 times a second while the agent talks: the same text as _dump makes (base64 needs
    # no JSON escaping), built without it.
    return (f'{{"event":"media","streamSid":{_json_string(stream_sid)},'
            f'"media":{{"payload":"{_b64(mulaw)}"}}}}')


def mark_to_twilio(stream_sid: str, name: str) -> str:
    return _dump({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_to_twilio(stream_sid: str) -> str:
    return _dump({"event": "clear", "streamSid": stream_sid})


# -- building: Twilio to the app (the test client plays Twilio) ---------------------------------


def twilio_connected() -> str:
    return _dump({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def twilio_start(
    seq: int,
    stream_sid: str,
    call_sid: str,
    account_sid: str,
    custom_parameters: dict[str, str] | None = None,
) -> str:
    start = {
        "accountSid": account_sid,
        "streamSid": stream_sid,
        "callSid": call_sid,
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": MULAW, "sampleRate": RATE, "channels": 1},
        "customParameters": dict(custom_parameters or {}),
    }
    return _dump(
        {"event": "start", "sequenceNumber": str(seq), "start": start, "streamSid": stream_sid}
    )


def twilio_media(seq: int, stream_sid: str, chunk: int, timestamp_ms: int, mulaw: bytes) -> str:
    # Sent 50 times a second per simulated call by the bench's callers: the same text as _dump
    # makes (numbers and base64 need no JSON escaping), built without it.
    return (f'{{"event":"media","sequenceNumber":"{seq}","media":{{"track":"inbound",'
            f'"chunk":"{chunk}","timestamp":"{timestamp_ms}","payload":"{_b64(mulaw)}"}},'
            f'"streamSid":{_json_string(stream_sid)}}}')


def twilio_dtmf(seq: int, stream_sid: str, digit: str) -> str:
    return _dump(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(seq),
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


def twilio_mark(seq: int, stream_sid: str, name: str) -> str:
    return _dump(
        {"event": "mark", "sequenceNumber": str(seq), "streamSid": stream_sid, "mark": {"name": name}}
    )


def twilio_stop(seq: int, stream_sid: str, call_sid: str, account_sid: str) -> str:
    return _dump(
        {
            "event": "stop",
            "sequenceNumber": str(seq),
            "streamSid": stream_sid,
            "stop": {"accountSid": account_sid, "callSid": call_sid},
        }
    )
