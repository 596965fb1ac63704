import re

import pytest

from voxline.protocols.ice_uri import IceUri, normalize_host, parse_ice_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("stun:stun.example.org", IceUri("stun", "stun.example.org", 3478, None)),
        ("stuns:STUN.Example.org:443", IceUri("stuns", "stun.example.org", 443, None)),
        ("turn:198.51.100.7", IceUri("turn", "198.51.100.7", 3478, "udp")),
        ("turn:turn.example.org:80?transport=tcp", IceUri("turn", "turn.example.org", 80, "tcp")),
        ("turns:turn.example.org", IceUri("turns", "turn.example.org", 5349, "tcp")),
        ("turn:[2001:DB8::0001]:3479", IceUri("turn", "2001:db8::1", 3479, "udp")),
    ],
)
def test_parses_rfc7064_and_rfc7065_uris(uri, expected):
    assert parse_ice_uri(uri) == expected


@pytest.mark.parametrize(
    "uri",
    [
        "stun.example.org",  # no scheme
        "http://stun.example.org",
        "stun:stun.example.org?transport=udp",  # STUN URIs take no transport
        "turn:turn.example.org?transport=sctp",
        "turn:turn.example.org:99999",
        "turn:user@turn.example.org",  # credentials never go in the URI
        "stun:",
    ],
)
def test_rejects_what_is_not_a_stun_or_turn_uri(uri):
    with pytest.raises(ValueError, match=re.escape(repr(uri))):
        parse_ice_uri(uri)


def test_one_spelling_per_host():
    assert normalize_host("TURN.Example.org.") == "turn.example.org"
    assert normalize_host("[::ffff:0:1]") == normalize_host("::FFFF:0.0.0.1")
