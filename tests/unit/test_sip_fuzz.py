"""Property tests: whatever bytes arrive, the SIP and SDP parsers answer with a message or their
own error type, never another exception; and what we build parses back to the same values."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxline.protocols.sip.message import (
    Request,
    SipParseError,
    error_response_to,
    parse_message,
    response_to,
)
from voxline.protocols.sip.sdp import SdpError, negotiate, parse_sdp

VALID = (
    b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKf\r\n"
    b"From: <sip:c@127.0.0.1>;tag=f\r\nTo: <sip:agent@127.0.0.1>\r\n"
    b"Call-ID: fuzz\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1>\r\n"
    b"Content-Type: application/sdp\r\nContent-Length: 74\r\n\r\n"
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n"
)
LINES = st.sampled_from(VALID.split(b"\r\n"))


def _parse_or_error(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError as err:
        assert err.status in (400, 505)
        reply = error_response_to(err)
        if reply is not None:  # the answer itself must be a message we can read back
            assert parse_message(reply.to_bytes()).status == err.status
        return
    message.to_bytes()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_sip_parser(data):
    _parse_or_error(data)


@settings(max_examples=400)
@given(st.lists(LINES, max_size=14), st.binary(max_size=8), st.integers(0, 13))
def test_shuffled_and_corrupted_lines_of_a_real_invite_never_crash(lines, junk, where):
    lines = list(lines)
    if lines:
        at = where % len(lines)
        lines[at] = lines[at][: len(lines[at]) // 2] + junk
    _parse_or_error(b"\r\n".join(lines))


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_sdp_parser_or_negotiation(data):
    try:
        plan = negotiate(parse_sdp(data))
    except SdpError:
        return  # a clear refusal (400/488) is a correct answer to garbage
    assert plan.codec in ("PCMU", "PCMA")  # anything accepted is something we can speak


TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=20)


@settings(max_examples=200)
@given(call_id=TOKENS, tag=TOKENS, cseq=st.integers(0, 2**31 - 1), body=st.binary(max_size=50),
       to_tag=TOKENS)
def test_built_messages_parse_back_to_the_same_values(call_id, tag, cseq, body, to_tag):
    request = parse_message(VALID)
    assert isinstance(request, Request)
    request.headers.set("Call-ID", call_id)
    request.headers.set("From", f"<sip:c@127.0.0.1>;tag={tag}")
    request.headers.set("CSeq", f"{cseq} INVITE")
    request.body = body
    again = parse_message(request.to_bytes())
    assert (again.call_id, again.from_.tag, again.cseq, again.body) == (
        call_id, tag, (cseq, "INVITE"), body)
    reply = parse_message(response_to(again, 486, to_tag=to_tag).to_bytes())
    assert (reply.status, reply.call_id, reply.to.tag) == (486, call_id, to_tag)
