"""Is this request from Twilio? X-Twilio-Signature, checked with the twilio package's validator.

Twilio signs the URL it requested (and, for a webhook, the POST parameters) with the account's
auth token, HMAC-SHA1 (or the algorithm the signature-settings header names, for a SharedKey).
Behind a proxy or load balancer the server sees another URL (http://10.0.0.5:8080/...), so the
URL is rebuilt from the configured public base URL: the one Twilio was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from twilio.request_validator import RequestValidator, get_signature_algorithm

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
_WS_SCHEME = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
_HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def public_url(seen_url: str, public_base_url: str | None) -> str:
    """The URL Twilio requested: the public base with the path and query the server saw."""
    if public_base_url is None:
        return seen_url
    seen = urlsplit(seen_url)
    return public_base_url.rstrip("/") + seen.path + (f"?{seen.query}" if seen.query else "")


def with_scheme(url: str, websocket: bool) -> str:
    """`url` with its http(s) scheme turned into ws(s), or back."""
    parts = urlsplit(url)
    table = _WS_SCHEME if websocket else _HTTP_SCHEME
    return urlunsplit(parts._replace(scheme=table.get(parts.scheme, parts.scheme)))


class TwilioSignature:
    def __init__(self, auth_token: str) -> None:
        if not auth_token:
            raise ValueError("an empty Twilio auth token cannot check signatures")
        self._validator = RequestValidator(auth_token)

    def valid(
        self,
        url: str,
        params: Mapping[str, str],
        signature: str | None,
        settings_header: str | None = None,
    ) -> bool:
        """Whether `signature` is Twilio's for this URL and these POST parameters."""
        if not signature:
            return False
        algorithm = get_signature_algorithm(settings_header)
        return bool(self._validator.validate(url, params, signature, algorithm))

    def valid_handshake(self, url: str, signature: str | None) -> bool:
        """A stream's WebSocket handshake (a GET: the URL alone is signed). Both the wss:// form
        (what the TwiML named) and the https:// form are accepted: either needs the token."""
        return any(
            self.valid(with_scheme(url, websocket), {}, signature) for websocket in (True, False)
        )

    def sign(self, url: str, params: Mapping[str, str] | None = None) -> str:
        """The signature Twilio would send (for the test client and the tests)."""
        return self._validator.compute_signature(url, params or {})
