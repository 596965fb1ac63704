"""Dialogs (RFC 3261 12) and digest auth (RFC 2617/7616 MD5)."""

from __future__ import annotations

import pytest

from voxline.protocols.sip.auth import (
    DigestAuthenticator,
    digest_authorization,
    digest_response,
)
from voxline.protocols.sip.dialog import Dialog, DialogError, new_branch
from voxline.protocols.sip.message import parse_message, response_to

INVITE = (
    "INVITE sip:agent@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKd1\r\n"
    "Record-Route: <sip:p1.test;lr>, <sip:p2.test;lr>\r\n"
    "From: \"C\" <sip:c@127.0.0.1>;tag=caller\r\nTo: <sip:agent@127.0.0.1>\r\n"
    "Call-ID: dlg\r\nCSeq: 10 INVITE\r\nContact: <sip:c@127.0.0.1:5062;transport=udp>\r\n\r\n"
)


def in_dialog(method: str, cseq: int, to_tag: str = "ours") -> object:
    return parse_message(
        f"{method} sip:agent@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5062;branch={new_branch()}\r\n"
        f"From: <sip:c@127.0.0.1>;tag=caller\r\nTo: <sip:agent@127.0.0.1>;tag={to_tag}\r\n"
        f"Call-ID: dlg\r\nCSeq: {cseq} {method}\r\nContact: <sip:c@127.0.0.9:5070>\r\n\r\n"
        .encode()
    )


def test_a_uas_dialog_routes_a_bye_through_the_record_route_set_to_the_contact():
    dialog = Dialog.as_uas(parse_message(INVITE.encode()), "ours")
    assert dialog.id == ("dlg", "ours", "caller")
    bye = dialog.request("BYE", f"SIP/2.0/UDP 127.0.0.1:5060;branch={new_branch()}")
    reparsed = parse_message(bye.to_bytes())
    assert reparsed.uri == "sip:c@127.0.0.1:5062;transport=udp"
    assert reparsed.headers.get_all("Route") == ["<sip:p1.test;lr>", "<sip:p2.test;lr>"]
    assert reparsed.from_.tag == "ours" and reparsed.to.tag == "caller"
    assert reparsed.cseq == (1, "BYE")
    assert dialog.request("BYE", "SIP/2.0/UDP h;branch=z9hG4bKx").cseq == (2, "BYE")


def test_in_dialog_requests_match_by_tags_and_must_raise_the_cseq():
    dialog = Dialog.as_uas(parse_message(INVITE.encode()), "ours")
    assert dialog.matches(in_dialog("BYE", 11))
    assert not dialog.matches(in_dialog("BYE", 11, to_tag="other"))
    with pytest.raises(DialogError) as caught:
        dialog.accept_request(in_dialog("INFO", 10))
    assert caught.value.status == 500
    reinvite = in_dialog("INVITE", 12)
    dialog.accept_request(reinvite)
    assert dialog.remote_target == "sip:c@127.0.0.9:5070"  # the re-INVITE's Contact
    dialog.accept_request(in_dialog("ACK", 12))  # ACK reuses the INVITE's number


def test_an_invite_without_contact_cannot_make_a_dialog():
    with pytest.raises(DialogError):
        Dialog.as_uas(parse_message(INVITE.replace(
            "Contact: <sip:c@127.0.0.1:5062;transport=udp>\r\n", "").encode()), "ours")


def test_a_uac_dialog_reverses_the_record_route_set():
    invite = parse_message(INVITE.encode())
    ok = response_to(invite, 200, to_tag="callee",
                     headers=[("Contact", "<sip:agent@127.0.0.1:5090>")])
    dialog = Dialog.as_uac(invite, ok)
    assert dialog.route_set == ["<sip:p2.test;lr>", "<sip:p1.test;lr>"]
    assert dialog.remote_tag == "callee" and dialog.local_tag == "caller"
    ack = dialog.request("ACK", "SIP/2.0/UDP h;branch=z9hG4bKa", cseq=10)
    assert ack.cseq == (10, "ACK") and ack.uri == "sip:agent@127.0.0.1:5090"


def test_the_digest_response_matches_the_rfc_2617_worked_example():
    # RFC 2617 3.5: Mufasa / "Circle Of Life" at testrealm@host.com.
    assert digest_response(
        username="Mufasa", realm="testrealm@host.com", password="Circle Of Life",
        method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth", nc="00000001", cnonce="0a4f113b",
    ) == "6629fae49393a05397450978507c4ef1"


def test_a_challenge_answered_with_the_right_password_passes():
    now = [1000.0]
    auth = DigestAuthenticator("voxline", {"trunk": "s3cret"}, clock=lambda: now[0])
    challenge = auth.challenge()
    answer = digest_authorization(challenge, username="trunk", password="s3cret",
                                  method="INVITE", uri="sip:agent@127.0.0.1")
    assert auth.check(answer, "INVITE").ok
    assert not auth.check(answer, "BYE").ok  # the method is part of the hash
    wrong = digest_authorization(challenge, username="trunk", password="guess",
                                 method="INVITE", uri="sip:agent@127.0.0.1")
    assert auth.check(wrong, "INVITE").reason == "wrong password"
    now[0] += 301
    late = auth.check(answer, "INVITE")
    assert not late.ok and late.stale


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic dHJ1bms6czNjcmV0",
     ('Digest username="trunk", realm="voxline", nonce="forged.0000", uri="sip:a", '
      'response="00"'),
     "Digest garbage-without-equals"],
)
def test_missing_forged_or_garbled_credentials_fail_with_a_reason(header):
    auth = DigestAuthenticator("voxline", {"trunk": "s3cret"})
    result = auth.check(header, "INVITE")
    assert not result.ok and result.reason
