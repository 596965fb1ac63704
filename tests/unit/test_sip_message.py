"""SIP message parsing and building, with torture-style messages written after RFC 4475's
categories (not copied): compact forms, folding, odd whitespace, Content-Length errors, bad
start lines, list headers split over lines and commas."""

from __future__ import annotations

import pytest

from voxline.protocols.sip.message import (
    Request,
    Response,
    SipParseError,
    error_response_to,
    parse_message,
    response_to,
)

INVITE = (
    "INVITE sip:agent@voxline.test SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKabc1;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Caller\" <sip:caller@example.test>;tag=ct1\r\n"
    "To: <sip:agent@voxline.test>\r\n"
    "Call-ID: call-1@192.0.2.10\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:caller@192.0.2.10:5062>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 5\r\n"
    "\r\n"
    "v=0\r\n"
)


def test_a_plain_invite_parses_into_typed_views():
    msg = parse_message(INVITE.encode())
    assert isinstance(msg, Request)
    assert (msg.method, msg.uri) == ("INVITE", "sip:agent@voxline.test")
    assert msg.call_id == "call-1@192.0.2.10"
    assert msg.cseq == (7, "INVITE")
    assert msg.from_.tag == "ct1" and msg.from_.display == "Caller"
    assert msg.to.tag is None
    assert msg.top_via.branch == "z9hG4bKabc1"
    assert msg.top_via.sent_by == "192.0.2.10:5062"
    assert "rport" in msg.top_via.params
    assert msg.contact.uri == "sip:caller@192.0.2.10:5062"
    assert msg.body == b"v=0\r\n"
    assert msg.content_type == "application/sdp"


def test_compact_forms_and_folded_lines_mean_the_same_headers():
    text = (
        "OPTIONS sip:agent@voxline.test SIP/2.0\r\n"
        "v: SIP/2.0/UDP h1.test;branch=z9hG4bK1,\r\n"
        "   SIP/2.0/UDP h2.test:5070;branch=z9hG4bK2\r\n"
        "vIa: SIP/2.0/UDP h3.test;branch=z9hG4bK3\r\n"
        "f: <sip:a@x.test>\r\n\t;tag=t1\r\n"
        "t: sip:agent@voxline.test\r\n"
        "i: folded-1\r\n"
        "cseq: 1 OPTIONS\r\n"
        "m: <sip:a@h1.test>\r\n"
        "l: 0\r\n\r\n"
    )
    msg = parse_message(text.encode())
    assert [v.host for v in msg.vias] == ["h1.test", "h2.test", "h3.test"]
    assert msg.vias[1].port == 5070
    assert msg.from_.tag == "t1"
    assert msg.to.uri == "sip:agent@voxline.test"
    assert msg.call_id == "folded-1"
    assert msg.contact is not None
    built = msg.to_bytes().decode()
    assert "\r\nVia: SIP/2.0/UDP h2.test:5070;branch=z9hG4bK2\r\n" in built
    assert "\r\nCall-ID: folded-1\r\n" in built


def test_whitespace_around_colons_and_a_quoted_comma_in_a_display_name():
    text = (
        "BYE sip:agent@voxline.test SIP/2.0\r\n"
        "Via   :   SIP/2.0/UDP  192.0.2.1 ; branch = z9hG4bKsp\r\n"
        'From: "Smith, John" <sip:j@x.test>;tag=a\r\n'
        "To: <sip:agent@voxline.test>;tag=b\r\n"
        "Call-ID: ws\r\nCSeq:    9    BYE\r\n\r\n"
    )
    msg = parse_message(text.encode())
    assert msg.top_via.branch == "z9hG4bKsp"
    assert msg.from_.display == "Smith, John"
    assert msg.cseq == (9, "BYE")


def test_lf_only_line_ends_and_leading_keepalive_crlfs_are_accepted():
    text = "\r\n\r\n" + INVITE.replace("\r\n", "\n").replace("Length: 5", "Length: 4")
    msg = parse_message(text.encode())
    assert msg.call_id == "call-1@192.0.2.10"
    assert msg.body == b"v=0\n"


def test_bytes_past_content_length_are_dropped_over_udp():
    msg = parse_message(INVITE.encode() + b"garbage after the body")
    assert msg.body == b"v=0\r\n"


def test_a_missing_content_length_takes_the_rest_of_the_datagram():
    text = INVITE.replace("Content-Length: 5\r\n", "")
    assert parse_message(text.encode()).body == b"v=0\r\n"


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda t: t.replace("Content-Length: 5", "Content-Length: 500"), "body has"),
        (lambda t: t.replace("Content-Length: 5", "Content-Length: -5"), "whole number"),
        (lambda t: t.replace("Content-Length: 5", "Content-Length: 5\r\nl: 6"), "conflicting"),
        (lambda t: t.replace("CSeq: 7 INVITE", "CSeq: 7 BYE"), "does not match"),
        (lambda t: t.replace("CSeq: 7 INVITE", "CSeq: INVITE"), "CSeq"),
        (lambda t: t.replace("CSeq: 7 INVITE", "CSeq: 4294967296 INVITE"), "2**31"),
        (lambda t: t.replace("Call-ID: call-1@192.0.2.10\r\n", ""), "Call-ID"),
        (lambda t: t.replace("Max-Forwards: 70", "Max-Forwards: seventy"), "Max-Forwards"),
        (lambda t: t.replace("From: ", "From "), "Name: value"),
        (lambda t: t.replace("To: <sip:agent@voxline.test>", "To: <sip:agent@voxline.test"),
         "unclosed"),
        (lambda t: t.replace("SIP/2.0/UDP 192.0.2.10:5062", "SIP/2.0/UDP 192.0.2.10:99999"),
         "Via"),
    ],
)
def test_bad_requests_raise_a_parse_error_that_can_still_be_answered(mutate, words):
    with pytest.raises(SipParseError) as caught:
        parse_message(mutate(INVITE).encode())
    err = caught.value
    assert words in str(err)
    assert err.status == 400
    assert err.partial is not None and err.partial.method == "INVITE"


def test_a_400_to_a_bad_request_copies_its_via_call_id_and_cseq_and_says_why():
    with pytest.raises(SipParseError) as caught:
        parse_message(INVITE.replace("Content-Length: 5", "Content-Length: 99").encode())
    reply = error_response_to(caught.value)
    assert reply is not None and reply.status == 400
    text = reply.to_bytes().decode()
    assert text.startswith("SIP/2.0 400 Bad Request\r\n")
    assert "branch=z9hG4bKabc1" in text and "Call-ID: call-1@192.0.2.10" in text
    assert "CSeq: 7 INVITE" in text and "Content-Length" in reply.headers.get("Warning")


def test_a_request_without_a_via_cannot_be_answered():
    with pytest.raises(SipParseError) as caught:
        parse_message(INVITE.replace(
            "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKabc1;rport\r\n", "").encode())
    assert error_response_to(caught.value) is None


def test_an_unknown_sip_version_is_505():
    with pytest.raises(SipParseError) as caught:
        parse_message(INVITE.replace("SIP/2.0\r\n", "SIP/7.0\r\n", 1).encode())
    assert caught.value.status == 505
    assert error_response_to(caught.value).status == 505


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"INVITE\r\n\r\n",
        b"INVITE  sip:x@y SIP/2.0\r\n\r\n",
        b"INV\xffITE sip:x@y SIP/2.0\r\n\r\n",
        b"SIP/2.0 99 Odd\r\n\r\n",
        b"SIP/2.0 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",
    ],
)
def test_garbage_is_a_parse_error_not_a_crash(data):
    with pytest.raises(SipParseError):
        parse_message(data)


def test_a_response_parses_and_keeps_its_reason_phrase():
    text = (
        "SIP/2.0 180 Ringing Loudly\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKr\r\n"
        "From: <sip:a@x.test>;tag=1\r\nTo: <sip:b@y.test>;tag=2\r\n"
        "Call-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    msg = parse_message(text.encode())
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (180, "Ringing Loudly")
    assert msg.to.tag == "2"


def test_response_to_copies_the_dialog_headers_and_adds_our_tag_except_on_100():
    request = parse_message(
        INVITE.replace("Max-Forwards: 70\r\n",
                       "Max-Forwards: 70\r\nRecord-Route: <sip:p1.test;lr>, <sip:p2.test;lr>\r\n")
        .encode()
    )
    trying = response_to(request, 100, to_tag="ours")
    assert trying.to.tag is None
    ok = response_to(request, 200, to_tag="ours", headers=[("Contact", "<sip:agent@127.0.0.1>")])
    reparsed = parse_message(ok.to_bytes())
    assert reparsed.status == 200 and reparsed.reason == "OK"
    assert reparsed.to.tag == "ours"
    assert [v.branch for v in reparsed.vias] == ["z9hG4bKabc1"]
    assert reparsed.headers.get_all("Record-Route") == ["<sip:p1.test;lr>", "<sip:p2.test;lr>"]
    assert reparsed.cseq == (7, "INVITE")
    assert response_to(request, 486).headers.get_all("Record-Route") == []


def test_content_length_is_always_the_real_body_length_when_built():
    msg = parse_message(INVITE.encode())
    msg.body = b"longer body"
    assert b"Content-Length: 11\r\n\r\nlonger body" in msg.to_bytes()
