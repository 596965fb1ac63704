"""HTTP Digest for SIP (RFC 3261 22, RFC 2617 / RFC 7616 with MD5), both sides.

Server: `DigestAuthenticator` issues challenges and checks answers. Nonces are stateless: a time
stamp and an HMAC of it under a per-process secret, so any number of callers can be challenged
without a table, and a nonce older than `nonce_ttl_s` is answered with stale=true.
Client: `digest_authorization` answers a challenge (for outbound calls to a trunk).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from voxline.protocols.sip.headers import SipHeaderError, parse_auth_params


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_response(*, username: str, realm: str, password: str, method: str, uri: str,
                    nonce: str, qop: str | None = None, nc: str = "", cnonce: str = "") -> str:
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop == "auth":
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    username: str | None = None
    reason: str = ""
    stale: bool = False  # the nonce was ours but expired: challenge again with stale=true


class DigestAuthenticator:
    def __init__(self, realm: str, users: dict[str, str], *, nonce_ttl_s: float = 300.0,
                 clock=time.time) -> None:
        self.realm = realm
        self._users = users
        self._ttl = nonce_ttl_s
        self._clock = clock
        self._secret = secrets.token_bytes(32)

    def _nonce(self, at: int) -> str:
        mac = hmac.new(self._secret, str(at).encode(), hashlib.sha256).hexdigest()[:32]
        return f"{at:x}.{mac}"

    def challenge(self, stale: bool = False) -> str:
        """A WWW-Authenticate / Proxy-Authenticate value."""
        nonce = self._nonce(int(self._clock()))
        return (f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'
                + (", stale=true" if stale else ""))

    def check(self, authorization: str | None, method: str) -> AuthResult:
        if not authorization:
            return AuthResult(False, reason="no credentials")
        try:
            scheme, params = parse_auth_params(authorization)
        except SipHeaderError as err:
            return AuthResult(False, reason=f"unreadable credentials: {err}")
        if scheme != "digest":
            return AuthResult(False, reason=f"scheme {scheme!r} is not Digest")
        username, nonce = params.get("username"), params.get("nonce", "")
        if params.get("realm") != self.realm or username is None:
            return AuthResult(False, username, reason="wrong realm or no username")
        if params.get("algorithm", "MD5").upper() != "MD5":
            return AuthResult(False, username, reason="algorithm is not MD5")
        stamp, _, _mac = nonce.partition(".")
        try:
            issued = int(stamp, 16)
        except ValueError:
            return AuthResult(False, username, reason="not our nonce")
        if not hmac.compare_digest(self._nonce(issued), nonce):
            return AuthResult(False, username, reason="not our nonce")
        password = self._users.get(username)
        if password is None:
            return AuthResult(False, username, reason="unknown user")
        qop = params.get("qop")
        if qop not in (None, "auth"):
            return AuthResult(False, username, reason=f"qop {qop!r} is not supported")
        expected = digest_response(
            username=username, realm=self.realm, password=password, method=method,
            uri=params.get("uri", ""), nonce=nonce, qop=qop, nc=params.get("nc", ""),
            cnonce=params.get("cnonce", ""),
        )
        if not hmac.compare_digest(expected, params.get("response", "")):
            return AuthResult(False, username, reason="wrong password")
        if self._clock() - issued > self._ttl:
            return AuthResult(False, username, reason="nonce expired", stale=True)
        return AuthResult(True, username)


def digest_authorization(challenge: str, *, username: str, password: str, method: str,
                         uri: str, nc: int = 1) -> str:
    """The Authorization / Proxy-Authorization value answering a Digest challenge."""
    scheme, params = parse_auth_params(challenge)
    if scheme != "digest":
        raise SipHeaderError(f"challenge scheme {scheme!r} is not Digest")
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise SipHeaderError(f"challenge algorithm {algorithm!r} is not MD5")
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else None
    if qops and qop is None:
        raise SipHeaderError(f"challenge offers qop {qops}, none of which is 'auth'")
    cnonce = secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    response = digest_response(username=username, realm=realm, password=password,
                               method=method, uri=uri, nonce=nonce, qop=qop, nc=nc_text,
                               cnonce=cnonce)
    parts = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
             f'response="{response}"', "algorithm=MD5"]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts)
