import base64
import hashlib
import json

import aioice.ice
import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer
from pydantic import ValidationError

from voxline.config import Settings, WebRTCSettings
from voxline.transports.webrtc import host_candidates
from voxline.transports.webrtc.ice import (
    browser_rtc_configuration,
    ice_servers_for_call,
    rtc_configuration,
    turn_rest_credentials,
)

NOW = 1_700_000_000


@pytest.fixture(autouse=True)
def _unpin_host_addresses():
    yield
    host_candidates.pin_host_addresses([])


def test_turn_rest_credentials_match_an_independently_computed_vector():
    # Expected values computed with openssl, not Python's hmac:
    #   printf '%s' 1700003600:alice | openssl dgst -sha1 -hmac north-wing-secret -binary | base64
    creds = turn_rest_credentials("north-wing-secret", "alice", 3600, NOW + 0.9)
    assert creds.username == "1700003600:alice"
    assert creds.password == "nToMrymG2kblkPfdN7PuQJZ9JVU="
    assert creds.expires_at == NOW + 3600
    # no user: the username is the expiry alone, which coturn also accepts
    assert turn_rest_credentials(b"s3cr3t", "", 600, NOW) == (
        "1700000600",
        "Y94pG81NaZ9JP1qKE/R8GSEE2ik=",
        NOW + 600,
    )
    assert len(base64.b64decode(creds.password)) == hashlib.sha1().digest_size
    with pytest.raises(ValueError, match="ttl_s"):
        turn_rest_credentials("s", "u", 0, NOW)


def _rest_settings(**extra):
    return WebRTCSettings(
        turn_urls=["turn:turn.clinic.example:3478", "turn:turn.clinic.example:443?transport=tcp"],
        turn_rest_secret="north-wing-secret",
        turn_rest_user="alice",
        turn_rest_ttl_s=3600,
        ice_servers=[{"urls": "stun:stun.clinic.example"}],
        **extra,
    )


def test_each_call_gets_fresh_turn_credentials_first_then_the_static_servers():
    servers = ice_servers_for_call(_rest_settings(), now=NOW)
    assert [s.urls for s in servers] == [
        ["turn:turn.clinic.example:3478", "turn:turn.clinic.example:443?transport=tcp"],
        ["stun:stun.clinic.example"],
    ]
    assert (servers[0].username, servers[0].credential) == (
        "1700003600:alice",
        "nToMrymG2kblkPfdN7PuQJZ9JVU=",
    )
    later = ice_servers_for_call(_rest_settings(), user="call-7", now=NOW + 60)
    assert later[0].username == "1700003660:call-7"


def test_the_browser_gets_the_same_servers_as_json():
    config = browser_rtc_configuration(_rest_settings(), now=NOW)
    assert json.loads(json.dumps(config)) == {
        "iceServers": [
            {
                "urls": [
                    "turn:turn.clinic.example:3478",
                    "turn:turn.clinic.example:443?transport=tcp",
                ],
                "username": "1700003600:alice",
                "credential": "nToMrymG2kblkPfdN7PuQJZ9JVU=",
            },
            {"urls": ["stun:stun.clinic.example"]},
        ],
        "iceTransportPolicy": "all",
    }
    assert browser_rtc_configuration(WebRTCSettings()) == {
        "iceServers": [],
        "iceTransportPolicy": "all",
    }


def test_nothing_configured_means_an_explicit_empty_server_list():
    # None would make aiortc use its default Google STUN server; [] means host candidates only
    config = rtc_configuration(WebRTCSettings())
    assert config.iceServers == []
    assert config.iceTransportPolicy.value == "all"
    relay_only = rtc_configuration(_rest_settings(ice_transport_policy="relay"))
    assert relay_only.iceTransportPolicy.value == "relay"


async def test_a_peer_built_from_the_configuration_gathers_no_server_candidates(monkeypatch):
    def default_servers(cls):
        raise AssertionError("aiortc fell back to its default (Google) STUN server")

    monkeypatch.setattr(RTCIceGatherer, "getDefaultIceServers", classmethod(default_servers))
    pc = RTCPeerConnection(rtc_configuration(WebRTCSettings(host_addresses=["127.0.0.1"])))
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        candidates = [
            line for line in pc.localDescription.sdp.splitlines() if line.startswith("a=candidate")
        ]
        assert candidates, pc.localDescription.sdp
        assert all(" 127.0.0.1 " in c and "typ host" in c for c in candidates), candidates
    finally:
        await pc.close()


def test_host_addresses_pin_exactly_the_configured_ones_and_unpin_to_aioices_choice():
    rtc_configuration(WebRTCSettings(host_addresses=["127.0.0.1", "::1"]))
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(use_ipv4=False, use_ipv6=True) == ["::1"]
    rtc_configuration(WebRTCSettings())  # nothing configured: aioice's own choice again
    default = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
    assert "127.0.0.1" not in default and "::1" not in default


def test_webrtc_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no voxline.toml here
    monkeypatch.setenv("VOXLINE_WEBRTC__TURN_URLS", '["turn:127.0.0.1:3478"]')
    monkeypatch.setenv("VOXLINE_WEBRTC__TURN_REST_SECRET", "north-wing-secret")
    monkeypatch.setenv("VOXLINE_WEBRTC__TURN_REST_USER", "alice")
    monkeypatch.setenv("VOXLINE_WEBRTC__TURN_REST_TTL_S", "3600")
    monkeypatch.setenv("VOXLINE_WEBRTC__HOST_ADDRESSES", '["127.0.0.1"]')
    monkeypatch.setenv("VOXLINE_WEBRTC__ICE_TRANSPORT_POLICY", "relay")
    monkeypatch.setenv("VOXLINE_WEBRTC__MAX_CALLS", "5")
    monkeypatch.setenv(
        "VOXLINE_WEBRTC__ICE_SERVERS",
        '[{"urls": ["turn:127.0.0.1:3479"], "username": "u", "credential": "p"}]',
    )
    webrtc = Settings().webrtc
    assert webrtc.max_calls == 5
    assert webrtc.host_addresses == ["127.0.0.1"]
    assert "north-wing-secret" not in repr(webrtc)  # secrets stay out of logs
    config = rtc_configuration(webrtc, now=NOW)
    assert config.iceTransportPolicy.value == "relay"
    assert [(s.urls, s.username, s.credential) for s in config.iceServers] == [
        (["turn:127.0.0.1:3478"], "1700003600:alice", "nToMrymG2kblkPfdN7PuQJZ9JVU="),
        (["turn:127.0.0.1:3479"], "u", "p"),
    ]


def test_webrtc_settings_reject_inconsistent_values():
    with pytest.raises(ValidationError, match="turn_urls is empty"):
        WebRTCSettings(turn_rest_secret="s")
    with pytest.raises(ValidationError, match="turn_rest_secret is empty"):
        WebRTCSettings(turn_urls=["turn:turn.clinic.example"])
    with pytest.raises(ValidationError, match="turn: or turns:"):
        WebRTCSettings(turn_urls=["stun:stun.clinic.example"], turn_rest_secret="s")
    with pytest.raises(ValidationError, match="not a STUN/TURN URI"):
        WebRTCSettings(ice_servers=[{"urls": "https://stun.clinic.example"}])
    with pytest.raises(ValidationError, match="host_addresses"):
        WebRTCSettings(host_addresses=["localhost"])
    with pytest.raises(ValidationError, match="max_calls"):
        WebRTCSettings(max_calls=0)
