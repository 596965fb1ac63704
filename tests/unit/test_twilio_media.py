"""The sans-IO Twilio Media Streams messages, against frames shaped as Twilio documents them."""

from __future__ import annotations

import base64
import json

import pytest

from voxline.protocols import twilio_media as tm

SID = "MZ18ad3ab5a668481ce02b83e7395059f0"
CALL = "CA5eb6a2c6fce3f1bfde4a58ac0de0a0e7"
ACCOUNT = "AC25e16e9a716a4a1786a7c83f58e30482"
MULAW = bytes(range(0, 256, 16)) * 10  # 160 bytes


def test_connected():
    event = tm.parse_from_twilio('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
    assert event == tm.Connected("Call", "1.0.0")


def test_start_with_custom_parameters_and_media_format():
    frame = json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "start": {
                "accountSid": ACCOUNT,
                "streamSid": SID,
                "callSid": CALL,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {"From": "+15550100", "To": "+15550101"},
            },
            "streamSid": SID,
        }
    )
    event = tm.parse_from_twilio(frame)
    assert isinstance(event, tm.Start)
    assert (event.stream_sid, event.call_sid, event.account_sid) == (SID, CALL, ACCOUNT)
    assert event.tracks == ("inbound",) and event.sequence == 1
    assert event.custom_parameters == {"From": "+15550100", "To": "+15550101"}
    assert event.media_format.is_mulaw_8k_mono


@pytest.mark.parametrize(
    "fmt",
    [
        {"encoding": "audio/x-alaw", "sampleRate": 8000, "channels": 1},
        {"encoding": "audio/x-mulaw", "sampleRate": 16000, "channels": 1},
        {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 2},
    ],
)
def test_a_media_format_other_than_mulaw_8k_mono_is_reported_as_such(fmt):
    frame = json.loads(tm.twilio_start(1, SID, CALL, ACCOUNT))
    frame["start"]["mediaFormat"] = fmt
    event = tm.parse_from_twilio(json.dumps(frame))
    assert isinstance(event, tm.Start) and not event.media_format.is_mulaw_8k_mono


def test_media_payload_is_decoded_and_string_numbers_parsed():
    frame = json.dumps(
        {
            "event": "media",
            "sequenceNumber": "3",
            "media": {
                "track": "inbound",
                "chunk": "1",
                "timestamp": "5",
                "payload": base64.b64encode(MULAW).decode(),
            },
            "streamSid": SID,
        }
    )
    assert tm.parse_from_twilio(frame) == tm.Media(SID, "inbound", 1, 5, MULAW, 3)


def test_dtmf_mark_stop():
    dtmf = {"event": "dtmf", "streamSid": SID, "sequenceNumber": "5",
            "dtmf": {"track": "inbound_track", "digit": "1"}}
    mark = {"event": "mark", "sequenceNumber": "4", "streamSid": SID, "mark": {"name": "vx1"}}
    stop = {"event": "stop", "sequenceNumber": "5", "streamSid": SID,
            "stop": {"accountSid": ACCOUNT, "callSid": CALL}}
    assert tm.parse_from_twilio(json.dumps(dtmf)) == tm.Dtmf(SID, "1", "inbound_track", 5)
    assert tm.parse_from_twilio(json.dumps(mark)) == tm.Mark(SID, "vx1", 4)
    assert tm.parse_from_twilio(json.dumps(stop)) == tm.Stop(SID, CALL, ACCOUNT, 5)


def test_an_unknown_event_is_returned_not_raised():
    event = tm.parse_from_twilio('{"event": "transcription", "streamSid": "MZ1", "x": 1}')
    assert isinstance(event, tm.UnknownEvent) and event.event == "transcription"


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        '{"no": "event"}',
        '{"event": 7}',
        '{"event": "start", "streamSid": "MZ1"}',
        '{"event": "start", "start": {"streamSid": "MZ1", "callSid": "CA1"}}',
        (
            '{"event": "start", "start": {"streamSid": "MZ1", "callSid": "CA1",'
            ' "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": "fast"}}}'
        ),
        '{"event": "media", "media": {"payload": "@@not base64@@"}}',
        '{"event": "media", "media": {"chunk": "1"}}',
        '{"event": "media", "sequenceNumber": "three", "media": {"payload": ""}}',
        '{"event": "dtmf", "dtmf": {}}',
        '{"event": "mark", "mark": {"name": 5}}',
        '{"event": "stop", "stop": "now"}',
        b"\xff\xfe",
    ],
)
def test_malformed_frames_raise_the_typed_error(frame):
    with pytest.raises(tm.TwilioMessageError):
        tm.parse_from_twilio(frame)


def test_messages_to_twilio_have_the_documented_shape():
    media = json.loads(tm.media_to_twilio(SID, MULAW))
    assert media == {
        "event": "media",
        "streamSid": SID,
        "media": {"payload": base64.b64encode(MULAW).decode()},
    }
    assert json.loads(tm.mark_to_twilio(SID, "vx3")) == {
        "event": "mark", "streamSid": SID, "mark": {"name": "vx3"}
    }
    assert json.loads(tm.clear_to_twilio(SID)) == {"event": "clear", "streamSid": SID}


def test_what_the_app_sends_parses_back():
    assert tm.parse_from_app(tm.media_to_twilio(SID, MULAW)) == tm.PlayMedia(SID, MULAW)
    assert tm.parse_from_app(tm.mark_to_twilio(SID, "a")) == tm.PlayMark(SID, "a")
    assert tm.parse_from_app(tm.clear_to_twilio(SID)) == tm.Clear(SID)
    with pytest.raises(tm.TwilioMessageError):
        tm.parse_from_app('{"event": "media", "media": {"payload": ""}}')  # no streamSid


def test_what_the_client_sends_parses_as_twilio_messages():
    start = tm.parse_from_twilio(tm.twilio_start(1, SID, CALL, ACCOUNT, {"k": "v"}))
    assert isinstance(start, tm.Start) and start.custom_parameters == {"k": "v"}
    assert tm.parse_from_twilio(tm.twilio_media(2, SID, 1, 20, MULAW)) == tm.Media(
        SID, "inbound", 1, 20, MULAW, 2
    )
    assert tm.parse_from_twilio(tm.twilio_dtmf(3, SID, "#")) == tm.Dtmf(SID, "#", sequence=3)
    assert tm.parse_from_twilio(tm.twilio_mark(4, SID, "vx1")) == tm.Mark(SID, "vx1", 4)
    assert tm.parse_from_twilio(tm.twilio_stop(5, SID, CALL, ACCOUNT)) == tm.Stop(
        SID, CALL, ACCOUNT, 5
    )


# -- the inbound media fast path: Twilio's own compact layout, read without the JSON parser -----


def _general(frame: str) -> object:
    """What the JSON parser makes of `frame` (the fast path bypassed)."""
    return tm.parse_from_twilio(frame.encode())  # bytes never take the fast path


@pytest.mark.parametrize("size", [0, 1, 2, 3, 160, 161, 320])
def test_compact_media_reads_the_same_as_through_the_json_parser(size):
    payload = bytes((i * 37) % 256 for i in range(size))
    frame = tm.twilio_media(12, SID, 11, 200, payload)
    assert tm._fast_media(frame) is not None  # the layout the fast path is for
    assert tm.parse_from_twilio(frame) == _general(frame) == tm.Media(
        SID, "inbound", 11, 200, payload, 12
    )


@pytest.mark.parametrize(
    "frame",
    [
        # What JSON allows but the fast layout does not: each goes through json.loads, intact.
        tm.twilio_media(1, SID, 1, 5, MULAW).replace('"streamSid":"', '"streamSid":"\\u004dZ'),
        tm.twilio_media(1, SID, 1, 5, MULAW).replace('"track":"inbound"', '"track":"in\\u0062ound"'),
        tm.twilio_media(1, SID, 1, 5, MULAW).replace(",", ", "),
        tm.twilio_media(1, SID, 1, 5, MULAW).replace('"chunk":"1"', '"chunk":1'),
        tm.twilio_media(1, SID, 1, 5, MULAW)[:-1] + ',"extra":true}',
    ],
)
def test_media_in_another_layout_takes_the_general_path(frame):
    assert tm._fast_media(frame) is None
    assert isinstance(tm.parse_from_twilio(frame), tm.Media)


@pytest.mark.parametrize("payload", ["abc", "A===", "AA=A", "QUJD\\n"])
def test_compact_media_with_a_bad_payload_raises_the_typed_error(payload):
    frame = tm.twilio_media(1, SID, 1, 5, b"").replace('"payload":""', f'"payload":"{payload}"')
    with pytest.raises(tm.TwilioMessageError, match="not base64"):
        tm.parse_from_twilio(frame)


@pytest.mark.parametrize("sid", [SID, "", 'MZ"quoted\\slash', "MZ\u00e9"])
def test_media_to_twilio_is_the_compact_json_of_the_message(sid):
    expected = json.dumps(
        {"event": "media", "streamSid": sid,
         "media": {"payload": base64.b64encode(MULAW).decode()}},
        separators=(",", ":"),
    )
    assert tm.media_to_twilio(sid, MULAW) == expected


@pytest.mark.parametrize("sid", [SID, "", 'MZ"quoted\\slash', "MZ\u00e9"])
def test_twilio_media_is_the_compact_json_of_twilios_message(sid):
    expected = json.dumps(
        {"event": "media", "sequenceNumber": "7",
         "media": {"track": "inbound", "chunk": "3", "timestamp": "40",
                   "payload": base64.b64encode(MULAW).decode()},
         "streamSid": sid},
        separators=(",", ":"),
    )
    assert tm.twilio_media(7, sid, 3, 40, MULAW) == expected
