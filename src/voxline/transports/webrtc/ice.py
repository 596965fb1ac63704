"""ICE servers for a browser call, from configuration only.

* No STUN/TURN server is ever contacted unless configured. aiortc falls back to Google's public
  STUN server when `RTCConfiguration.iceServers` is None, so every configuration built here passes
  an explicit list, empty when nothing is configured (host candidates only).
* TURN credentials are minted per call with the TURN REST API scheme that coturn checks under
  `use-auth-secret` / `static-auth-secret`: username "<expiry unix time>:<user>", password
  base64(HMAC-SHA1(secret, username)). A leaked pair expires by itself, and the TURN server
  needs no user database.
* The server-side peer (aiortc) and the browser page get the same servers: `rtc_configuration`
  for the one, `browser_rtc_configuration` (JSON for `new RTCPeerConnection(...)`) for the other.
* HIPAA refusal (STUN/TURN hosts the operator does not own) happens when the settings are built
  (config.WebRTCSettings), so a refused configuration never reaches this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, NamedTuple

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from voxline.config import WebRTCSettings
from voxline.transports.webrtc.host_candidates import pin_host_addresses


class TurnCredentials(NamedTuple):
    username: str
    password: str
    expires_at: int  # unix time after which the TURN server refuses them


def turn_rest_credentials(
    secret: str | bytes, user: str, ttl_s: int, now: float
) -> TurnCredentials:
    """Time-limited TURN credentials for coturn's `use-auth-secret` (TURN REST API)."""
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
    expires_at = int(now) + ttl_s
    username = f"{expires_at}:{user}" if user else str(expires_at)
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, username.encode(), hashlib.sha1).digest()
    return TurnCredentials(username, base64.b64encode(digest).decode("ascii"), expires_at)


def ice_servers_for_call(
    settings: WebRTCSettings, *, user: str | None = None, now: float | None = None
) -> list[RTCIceServer]:
    """The STUN/TURN servers one call may use: fresh TURN REST credentials, then static servers.

    The TURN REST server comes first because aiortc uses only the first STUN and the first TURN
    URL it is given (browsers use them all). `user` tags the TURN username (a call id shows up in
    the TURN server's logs and quotas); default `settings.turn_rest_user`.
    """
    servers: list[RTCIceServer] = []
    if settings.turn_urls and settings.turn_rest_secret is not None:
        creds = turn_rest_credentials(
            settings.turn_rest_secret.get_secret_value(),
            settings.turn_rest_user if user is None else user,
            settings.turn_rest_ttl_s,
            time.time() if now is None else now,
        )
        servers.append(RTCIceServer(list(settings.turn_urls), creds.username, creds.password))
    for server in settings.ice_servers:
        credential = server.credential.get_secret_value() if server.credential else None
        servers.append(RTCIceServer(list(server.urls), server.username, credential))
    return servers


def rtc_configuration(
    settings: WebRTCSettings, *, user: str | None = None, now: float | None = None
) -> RTCConfiguration:
    """The aiortc configuration for one call's RTCPeerConnection.

    Also pins the host-candidate addresses to `settings.host_addresses` (process-wide, see
    host_candidates.py): aiortc has no per-connection option for them.
    """
    pin_host_addresses(settings.host_addresses)
    return RTCConfiguration(
        iceServers=ice_servers_for_call(settings, user=user, now=now),  # a list: never Google
        iceTransportPolicy=RTCIceTransportPolicy(settings.ice_transport_policy),
    )


def browser_rtc_configuration(
    settings: WebRTCSettings, *, user: str | None = None, now: float | None = None
) -> dict[str, Any]:
    """The same servers as JSON for the page: `new RTCPeerConnection(await response.json())`."""
    servers = []
    for server in ice_servers_for_call(settings, user=user, now=now):
        entry: dict[str, Any] = {"urls": server.urls}
        if server.username is not None:
            entry["username"] = server.username
        if server.credential is not None:
            entry["credential"] = server.credential
        servers.append(entry)
    return {"iceServers": servers, "iceTransportPolicy": settings.ice_transport_policy}
