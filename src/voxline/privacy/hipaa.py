"""HIPAA mode: one setting (`VOXLINE_PRIVACY__HIPAA=true`) that start-up enforces.

`enforce(settings)` raises one ConfigError listing every breach, each with what to set:

1. Redaction is on: no unredacted transcript reaches an LLM, a log or a record.
2. Every STUN/TURN server is self-hosted: its host is a loopback, private (RFC 1918 / ULA) or
   link-local address, or a name listed in `webrtc.operator_ice_hosts` (hosts the operator
   runs). A public address or any other name is a third party that would see caller IPs.
3. Every STT/LLM/TTS provider, fallbacks included, is covered by a BAA: embedded local models
   (`local/...`) send nothing anywhere; a cloud one must be marked in `privacy.baa_providers`
   as "vendor/model" or "vendor/*".
4. Call recording is off, or encrypted at rest with a valid key in the environment.
5. A retention window is set (`privacy.retention_days`), for `voxline records purge`.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from voxline.errors import ConfigError
from voxline.protocols.ice_uri import normalize_host, parse_ice_uri

LOCAL_VENDOR = "local"


def self_hosted(host: str, operator_hosts: list[str]) -> bool:
    """A STUN/TURN host the operator runs: a non-public address, or a listed name."""
    host = normalize_host(host)
    if host in {normalize_host(h) for h in operator_hosts}:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"  # any other name could point anywhere
    return address.is_loopback or address.is_private or address.is_link_local


def baa_covered(provider: str, baa_providers: list[str]) -> bool:
    vendor = provider.split("/", 1)[0]
    return vendor == LOCAL_VENDOR or provider in baa_providers or f"{vendor}/*" in baa_providers


def _providers(settings: Any) -> list[str]:
    names: list[str] = []
    for value in (settings.stt, settings.llm, settings.tts):
        names += [value] if isinstance(value, str) else list(value)
    return names


def breaches(settings: Any) -> list[str]:
    """What in `settings` HIPAA mode refuses; [] when nothing (or when HIPAA mode is off)."""
    privacy = settings.privacy
    if not privacy.hipaa:
        return []
    found: list[str] = []
    if not privacy.redaction:
        found.append("redaction is off: set VOXLINE_PRIVACY__REDACTION=true")
    foreign = sorted({uri for uri in settings.webrtc.ice_uris()
                      if not self_hosted(parse_ice_uri(uri).host,
                                         settings.webrtc.operator_ice_hosts)})
    if foreign:
        found.append(
            f"STUN/TURN servers not self-hosted: {', '.join(foreign)} (caller IPs would reach a "
            "third party): run your own, on a private address or a host listed in "
            "VOXLINE_WEBRTC__OPERATOR_ICE_HOSTS")
    uncovered = [p for p in _providers(settings) if not baa_covered(p, privacy.baa_providers)]
    if uncovered:
        found.append(
            f"providers without a BAA: {', '.join(uncovered)}: sign one and mark them, e.g. "
            "VOXLINE_PRIVACY__BAA_PROVIDERS='[\"deepgram/nova-3\"]' (or \"vendor/*\"), or use "
            "local/... models")
    if privacy.recording == "wav":
        found.append("call recording is plain WAV: set VOXLINE_PRIVACY__RECORDING=encrypted "
                     "(AES-256-GCM at rest) or off")
    elif privacy.recording == "encrypted":
        from voxline.privacy.recording_crypto import load_key

        try:
            load_key(privacy.recording_key_env, os.environ)
        except ConfigError as err:
            found.append(str(err))
    if privacy.retention_days is None:
        found.append("no retention window: set VOXLINE_PRIVACY__RETENTION_DAYS (e.g. 30) and "
                     "run `voxline records purge --older-than 30d` daily")
    return found


def enforce(settings: Any) -> None:
    """Raise ConfigError naming every HIPAA breach in `settings`."""
    found = breaches(settings)
    if found:
        raise ConfigError("HIPAA mode (VOXLINE_PRIVACY__HIPAA=true) refuses this "
                          "configuration:\n  - " + "\n  - ".join(found))
