"""Offers are checked before aiortc sees them; trickled candidates are parsed, then used or refused."""

from __future__ import annotations

import re

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from voxline.transports.webrtc.candidates import refusal, to_aiortc
from voxline.transports.webrtc.host_candidates import pin_host_addresses
from voxline.transports.webrtc.messages import Candidate, SignallingError
from voxline.transports.webrtc.offer_check import check_offer


@pytest.fixture
async def offer() -> str:
    """A real offer from an aiortc peer: audio (Opus) and a data channel, loopback candidates."""
    pin_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio")
    pc.createDataChannel("voxline")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    pin_host_addresses([])
    return sdp


def test_a_real_offer_passes(offer):
    check_offer(offer)


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (lambda s: "", "starts with 'v=0'"),
        (lambda s: "hello\r\n" + s, "starts with 'v=0'"),
        (lambda s: re.sub(r"m=audio[^\r\n]*\r\n", "", s), "no audio section"),
        (lambda s: re.sub(r"a=rtpmap:\d+ opus/48000/2\r\n", "", s), "does not include Opus"),
        (lambda s: re.sub(r"a=ice-pwd:[^\r\n]*\r\n", "", s), "no ICE credentials"),
        (lambda s: re.sub(r"a=fingerprint:[^\r\n]*\r\n", "", s), "no DTLS fingerprint"),
        (lambda s: re.sub(r"m=audio \d+ ", "m=audio nine ", s), "does not parse as SDP"),
    ],
)
def test_a_broken_offer_says_what_is_wrong(offer, mutate, says):
    with pytest.raises(SignallingError) as caught:
        check_offer(mutate(offer))
    assert caught.value.code == "bad_sdp"
    assert says in caught.value.message


def test_browser_candidate_lines_parse_with_or_without_prefix():
    line = "candidate:842163049 1 udp 1677729535 127.0.0.1 51234 typ host generation 0 ufrag x"
    for text in (line, "a=" + line, line.removeprefix("candidate:")):
        candidate = to_aiortc(Candidate(text, "0", 0))
        assert (candidate.ip, candidate.port, candidate.type) == ("127.0.0.1", 51234, "host")
        assert candidate.foundation == "842163049"
        assert (candidate.sdpMid, candidate.sdpMLineIndex) == ("0", 0)


@pytest.mark.parametrize("text", ["garbage", "candidate:1 1 udp", "candidate:1 1 udp 1 1.2.3.4 x typ host"])
def test_a_candidate_that_does_not_parse_is_a_signalling_error(text):
    with pytest.raises(SignallingError) as caught:
        to_aiortc(Candidate(text, "0", None))
    assert caught.value.code == "bad_candidate"


def _candidate(address: str):
    return to_aiortc(Candidate(f"candidate:1 1 udp 2113937151 {address} 9 typ host", "0", 0))


def test_mdns_and_names_are_refused_whatever_the_pinning():
    assert refusal(_candidate("0b5f1c2e-1111-2222-3333-444455556666.local"), []) == "mdns"
    assert refusal(_candidate("turn.example.com"), []) == "not_an_address"


def test_off_host_candidates_are_refused_only_when_the_server_is_pinned_to_loopback():
    assert refusal(_candidate("192.0.2.7"), ["127.0.0.1"]) == "not_loopback"
    assert refusal(_candidate("127.0.0.1"), ["127.0.0.1"]) is None
    assert refusal(_candidate("192.0.2.7"), []) is None
    assert refusal(_candidate("192.0.2.7"), ["192.0.2.2"]) is None
    assert refusal(_candidate("::1"), ["127.0.0.1", "::1"]) is None
