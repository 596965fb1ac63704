"""HIPAA mode: one setting, enforced when the settings are built, with every breach named."""

from __future__ import annotations

import pytest

from voxline.config import Settings
from voxline.errors import ConfigError
from voxline.privacy.hipaa import baa_covered, breaches, self_hosted

KEY = "ab" * 32
LOCAL_OK = {"hipaa": True, "retention_days": 30}


def test_the_local_stack_passes_with_a_retention_window(monkeypatch):
    settings = Settings(privacy=LOCAL_OK)  # embedded models, no ICE servers, no recording
    assert settings.privacy.hipaa and breaches(settings) == []


def test_off_by_default_nothing_is_refused():
    settings = Settings(stt="deepgram/nova-3", webrtc={"ice_servers": [
        {"urls": "stun:stun.l.google.com:19302"}]})
    assert breaches(settings) == []


def test_every_breach_is_named_in_one_error(monkeypatch):
    monkeypatch.delenv("VOXLINE_RECORDING_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        Settings(
            stt=["deepgram/nova-3", "local/whisper-tiny.en"], llm="openai/gpt-4o-mini",
            webrtc={"ice_servers": [{"urls": ["stun:stun.l.google.com:19302",
                                              "stun:10.0.0.5:3478"]}]},
            privacy={"hipaa": True, "redaction": False, "recording": "encrypted"},
        )
    message = str(caught.value)
    for expected in ("redaction is off", "stun:stun.l.google.com:19302",
                     "deepgram/nova-3, openai/gpt-4o-mini", "VOXLINE_PRIVACY__BAA_PROVIDERS",
                     "$VOXLINE_RECORDING_KEY", "VOXLINE_PRIVACY__RETENTION_DAYS"):
        assert expected in message, message
    assert "10.0.0.5" not in message and "local/whisper" not in message


def test_plain_recording_is_refused_and_encrypted_with_a_key_passes(monkeypatch):
    with pytest.raises(ConfigError, match="RECORDING=encrypted"):
        Settings(privacy={**LOCAL_OK, "recording": "wav"})
    monkeypatch.setenv("VOXLINE_RECORDING_KEY", KEY)
    assert Settings(privacy={**LOCAL_OK, "recording": "encrypted"}).privacy.recording == \
        "encrypted"


def test_marked_cloud_providers_pass(monkeypatch):
    settings = Settings(
        stt="deepgram/nova-3", llm="openai/gpt-4o-mini", tts="elevenlabs/eleven_flash_v2_5",
        privacy={**LOCAL_OK, "baa_providers": ["deepgram/nova-3", "openai/*",
                                               "elevenlabs/eleven_flash_v2_5"]},
    )
    assert breaches(settings) == []
    with pytest.raises(ConfigError, match="openai/gpt-4o-mini"):
        Settings(llm="openai/gpt-4o-mini", privacy={**LOCAL_OK, "baa_providers": ["openai/gpt-4o"]})


def test_baa_marks_come_from_the_environment_as_documented(monkeypatch):
    monkeypatch.setenv("VOXLINE_PRIVACY__HIPAA", "true")
    monkeypatch.setenv("VOXLINE_PRIVACY__RETENTION_DAYS", "30")
    monkeypatch.setenv("VOXLINE_PRIVACY__BAA_PROVIDERS", '["deepgram/nova-3", "local/*"]')
    assert Settings(stt="deepgram/nova-3").privacy.baa_providers == ["deepgram/nova-3", "local/*"]


def test_self_hosted_means_private_loopback_or_listed():
    assert self_hosted("127.0.0.1", []) and self_hosted("::1", []) and self_hosted("localhost", [])
    assert self_hosted("10.1.2.3", []) and self_hosted("192.168.0.9", [])
    assert self_hosted("fd00::1", []) and self_hosted("169.254.1.1", [])
    assert not self_hosted("8.8.8.8", []) and not self_hosted("turn.clinic.example", [])
    assert self_hosted("TURN.clinic.example.", ["turn.clinic.example"])
    assert self_hosted("203.0.113.7", ["203.0.113.7"])


def test_turn_rest_urls_are_checked_too():
    with pytest.raises(ConfigError, match="turn:turn.vendor.example:3478"):
        Settings(webrtc={"turn_urls": ["turn:turn.vendor.example:3478"],
                         "turn_rest_secret": "s"}, privacy=LOCAL_OK)
    settings = Settings(webrtc={"turn_urls": ["turn:turn.clinic.example:3478"],
                                "turn_rest_secret": "s",
                                "operator_ice_hosts": ["turn.clinic.example"]}, privacy=LOCAL_OK)
    assert breaches(settings) == []


def test_baa_covered():
    assert baa_covered("local/whisper-tiny.en", [])
    assert baa_covered("deepgram/nova-3", ["deepgram/*"])
    assert not baa_covered("deepgram/nova-3", ["deepgram/nova-2"])
