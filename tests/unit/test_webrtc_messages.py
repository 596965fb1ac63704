"""The signalling and data-channel JSON schemas: what the page may send, and what it gets."""

from __future__ import annotations

import json

import pytest

from voxline.transports.webrtc import channel_messages as channel
from voxline.transports.webrtc import messages as wire
from voxline.transports.webrtc.messages import SignallingError


def test_offer_candidate_end_hangup_and_ice_state_parse():
    assert wire.parse_client_message('{"type":"offer","sdp":"v=0\\r\\n"}') == wire.Offer("v=0\r\n")
    candidate = wire.parse_client_message(
        json.dumps({"type": "candidate", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                    "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"})
    )
    assert candidate == wire.Candidate("candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0)
    assert wire.parse_client_message('{"type":"end_of_candidates"}') == wire.EndOfCandidates()
    empty = '{"type":"candidate","candidate":"","sdpMid":"0","sdpMLineIndex":0}'
    assert wire.parse_client_message(empty) == wire.EndOfCandidates()
    assert wire.parse_client_message('{"type":"hangup"}') == wire.Hangup()
    assert wire.parse_client_message(b'{"type":"ice_state","state":"disconnected"}') == (
        wire.BrowserIceState("disconnected")
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"sdp": "v=0"}', "unknown_type"),
        ('{"type": "answer", "sdp": "v=0"}', "unknown_type"),
        ('{"type": "offer"}', "bad_message"),
        ('{"type": "offer", "sdp": 12}', "bad_message"),
        ('{"type": "offer", "sdp": ""}', "bad_message"),
        ('{"type": "candidate", "candidate": "candidate:1"}', "bad_message"),
        ('{"type": "candidate", "candidate": "c", "sdpMid": 0}', "bad_message"),
        ('{"type": "candidate", "candidate": "c", "sdpMLineIndex": -1}', "bad_message"),
        ('{"type": "candidate", "candidate": "c", "sdpMLineIndex": true}', "bad_message"),
        ('{"type": "ice_state", "state": "exploded"}', "bad_message"),
        ('{"type": "offer", "sdp": "' + "x" * wire.MAX_MESSAGE_BYTES + '"}', "message_too_large"),
    ],
)
def test_anything_else_is_a_signalling_error_with_a_code(raw, code):
    with pytest.raises(SignallingError) as caught:
        wire.parse_client_message(raw)
    assert caught.value.code == code
    assert caught.value.message


def test_server_messages_are_json_with_their_type():
    assert json.loads(wire.answer("v=0", "c1")) == {"type": "answer", "sdp": "v=0", "call_id": "c1"}
    assert json.loads(wire.connected("c1", 31.5))["setup_ms"] == 31.5
    assert json.loads(wire.error("bad_sdp", "no audio", fatal=True)) == {
        "type": "error", "code": "bad_sdp", "message": "no audio", "fatal": True,
    }
    assert json.loads(wire.bye("ice_failed: x")) == {"type": "bye", "reason": "ice_failed: x"}


def test_page_voice_to_voice_is_a_bounded_number():
    assert channel.parse_page_message('{"type":"voice_to_voice","ms":512.34}').ms == 512.3
    for raw in (
        '{"type":"voice_to_voice","ms":"512"}',
        '{"type":"voice_to_voice","ms":true}',
        '{"type":"voice_to_voice","ms":-1}',
        '{"type":"voice_to_voice","ms":NaN}',
        '{"type":"voice_to_voice","ms":600000}',
        '{"type":"hello"}',
        "nope",
    ):
        with pytest.raises(SignallingError):
            channel.parse_page_message(raw)
