"""SDP parse/build and the audio offer/answer rules (RFC 4566, RFC 3264)."""

from __future__ import annotations

import pytest

from voxline.protocols.sip.sdp import (
    NoCommonCodec,
    SdpError,
    build_answer,
    build_offer,
    negotiate,
    parse_sdp,
)

OFFER = (
    "v=0\r\n"
    "o=caller 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 18 8 0 96\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=rtpmap:96 telephone-event/8000\r\n"
    "a=fmtp:96 0-15\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n"
)


def test_the_offerers_first_supported_codec_wins_and_telephone_event_is_kept():
    plan = negotiate(parse_sdp(OFFER))
    assert (plan.codec, plan.payload_type) == ("PCMA", 8)  # G729 unsupported, PCMA before PCMU
    assert plan.dtmf_payload_type == 96
    assert (plan.remote_address, plan.remote_port) == ("192.0.2.10", 49170)
    assert plan.direction == "sendrecv" and plan.sending and plan.receiving


def test_the_answer_reparses_with_our_port_codec_and_dtmf():
    offer = parse_sdp(OFFER)
    plan = negotiate(offer)
    text = build_answer(offer, plan, "127.0.0.1", 40000, session_id=5, version=1).to_text()
    answer = parse_sdp(text)
    assert answer.connection == "127.0.0.1"
    (audio,) = answer.media
    assert (audio.port, audio.formats) == (40000, ["8", "96"])
    assert audio.rtpmap() == {8: ("PCMA", 8000), 96: ("telephone-event", 8000)}
    assert audio.direction == "sendrecv"
    assert answer.origin.startswith("voxline 5 1 IN IP4 127.0.0.1")
    assert text.endswith("\r\n") and "\n\n" not in text


@pytest.mark.parametrize(
    ("offered", "answered"),
    [("sendonly", "recvonly"), ("recvonly", "sendonly"), ("inactive", "inactive"),
     ("sendrecv", "sendrecv")],
)
def test_hold_directions_are_mirrored(offered, answered):
    plan = negotiate(parse_sdp(OFFER.replace("a=sendrecv", f"a={offered}")))
    assert plan.direction == answered


def test_a_session_level_direction_applies_when_the_media_has_none():
    text = OFFER.replace("a=sendrecv\r\n", "").replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n")
    assert negotiate(parse_sdp(text)).direction == "recvonly"


def test_old_style_hold_with_a_zero_address_means_the_caller_does_not_receive():
    plan = negotiate(parse_sdp(OFFER.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0")))
    assert plan.direction == "recvonly"


def test_no_supported_codec_is_a_no_common_codec_error_naming_the_offer():
    text = OFFER.replace("m=audio 49170 RTP/AVP 18 8 0 96", "m=audio 49170 RTP/AVP 18 96")
    with pytest.raises(NoCommonCodec) as caught:
        negotiate(parse_sdp(text))
    assert "G729/8000" in str(caught.value) and "PCMU" in str(caught.value)


def test_srtp_only_and_video_only_offers_have_no_common_codec():
    with pytest.raises(NoCommonCodec):
        negotiate(parse_sdp(OFFER.replace("RTP/AVP", "RTP/SAVP")))
    with pytest.raises(NoCommonCodec):
        negotiate(parse_sdp(OFFER.replace("m=audio", "m=video")))


def test_other_streams_are_refused_with_port_zero_in_order():
    text = OFFER.replace("m=audio", "m=video 5000 RTP/AVP 31\r\nm=audio")
    offer = parse_sdp(text)
    plan = negotiate(offer)
    assert plan.media_index == 1
    answer = parse_sdp(build_answer(offer, plan, "127.0.0.1", 4000, 1, 1).to_text())
    assert [(m.kind, m.port) for m in answer.media] == [("video", 0), ("audio", 4000)]


def test_media_level_connection_overrides_the_session_level_one():
    text = OFFER.replace("a=ptime:20", "c=IN IP4 198.51.100.7\r\na=ptime:20")
    assert negotiate(parse_sdp(text)).remote_address == "198.51.100.7"


@pytest.mark.parametrize(
    "text",
    [
        "o=x\r\n",  # no version
        "v=1\r\n",
        "v=0\r\nm=audio notaport RTP/AVP 0\r\n",
        "v=0\r\nc=IN IP4 not-an-address\r\n",
        "v=0\r\nthis is not sdp\r\n",
    ],
)
def test_bad_sdp_is_an_sdp_error(text):
    with pytest.raises(SdpError):
        parse_sdp(text)


def test_a_stream_without_any_address_is_an_error():
    with pytest.raises(SdpError):
        negotiate(parse_sdp(OFFER.replace("c=IN IP4 192.0.2.10\r\n", "")))


def test_our_offer_lists_pcmu_pcma_and_telephone_event_and_negotiates_to_pcmu():
    offer = parse_sdp(build_offer("127.0.0.1", 30000, 9, 1).to_text())
    plan = negotiate(offer)
    assert (plan.codec, plan.dtmf_payload_type, plan.remote_port) == ("PCMU", 101, 30000)
    assert offer.media[0].rtpmap()[8] == ("PCMA", 8000)
