"""SIP header values: Via, name-addr (To/From/Contact/Route), CSeq, parameters, SIP URIs.

Pure functions over strings. Each raises SipHeaderError with what was wrong, so the message
layer can turn it into a 400 that names the header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 8.1.1.7: branches that start with it are unique per txn
MAX_CSEQ = 2**31 - 1  # 8.1.1.5: the sequence number is below 2**31

_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")


class SipHeaderError(ValueError):
    """A header value that does not parse."""


def is_token(text: str) -> bool:
    return bool(_TOKEN.match(text))


def split_commas(value: str) -> list[str]:
    """Split a header value on the commas that separate list items (not those inside quoted
    strings or <...>), so 'Via: a, b' and two Via lines mean the same."""
    items: list[str] = []
    depth_angle = 0
    quoted = False
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1  # a quoted-pair: skip the escaped character
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth_angle += 1
        elif ch == ">":
            depth_angle = max(0, depth_angle - 1)
        elif ch == "," and depth_angle == 0:
            items.append(value[start:i].strip())
            start = i + 1
        i += 1
    items.append(value[start:].strip())
    return [item for item in items if item]


def parse_params(text: str) -> dict[str, str | None]:
    """';a=b;c' -> {'a': 'b', 'c': None}. Names are case-insensitive, so they are lowered."""
    params: dict[str, str | None] = {}
    for part in _split_semicolons(text):
        if not part:
            continue
        name, eq, val = part.partition("=")
        name = name.strip().lower()
        if not name:
            raise SipHeaderError(f"a parameter with no name in {text!r}")
        val = val.strip()
        if val.startswith('"') and val.endswith('"') and len(val) >= 2:
            val = val[1:-1]
        params[name] = val if eq else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _split_semicolons(text: str) -> list[str]:
    parts, quoted, start = [], False, 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


@dataclass(frozen=True)
class Via:
    transport: str  # UDP, TCP, TLS, ...
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{format_params(self.params)}"


_VIA = re.compile(r"^SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9\-]+)\s+(\S[^;]*?)\s*(;.*)?$", re.IGNORECASE)


def parse_via(value: str) -> Via:
    """One Via item: 'SIP/2.0/UDP host:port;branch=...'."""
    match = _VIA.match(value.strip())
    if not match:
        raise SipHeaderError(f"Via {value[:80]!r} is not 'SIP/2.0/<transport> host[:port]'")
    transport, sent_by, params = match.groups()
    host, port = split_host_port(sent_by.replace(" ", ""))
    return Via(transport.upper(), host, port, parse_params(params or ""))


def split_host_port(text: str) -> tuple[str, int | None]:
    """'host', 'host:5060', '[::1]:5060' -> (host, port or None)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipHeaderError(f"unclosed IPv6 reference in {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SipHeaderError(f"junk after the IPv6 address in {text!r}")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise SipHeaderError(f"no host in {text!r}")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SipHeaderError(f"port {port_text!r} in {text!r} is not 1-65535")
    return host, int(port_text)


@dataclass(frozen=True)
class SipUri:
    scheme: str  # sip | sips | tel ...
    user: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str = ""  # the ?h=v part, kept as text

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user is not None else ""
        port = f":{self.port}" if self.port is not None else ""
        tail = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{user}{self.host}{port}{format_params(self.params)}{tail}"


def parse_uri(text: str) -> SipUri:
    """A sip:/sips: URI (user info with a password is accepted; the password is kept in user)."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or not scheme.isalpha():
        raise SipHeaderError(f"{text[:80]!r} is not a URI (no scheme)")
    scheme = scheme.lower()
    if scheme not in ("sip", "sips"):
        # tel: and others are legal Request-URIs; keep the text as the host.
        return SipUri(scheme, None, rest)
    rest, _, headers = rest.partition("?")
    user = None
    if "@" in rest:
        user, _, rest = rest.rpartition("@")
    hostport, _, params = rest.partition(";")
    host, port = split_host_port(hostport)
    return SipUri(scheme, user, host.lower(), port, parse_params(params), headers)


@dataclass(frozen=True)
class NameAddr:
    """To, From, Contact, Route, Record-Route: '"Name" <uri>;params' or 'uri;params'."""

    uri: str
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return NameAddr(self.uri, self.display, {**self.params, "tag": tag})

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


def parse_name_addr(value: str) -> NameAddr:
    value = value.strip()
    if not value:
        raise SipHeaderError("an empty address")
    lt = _unquoted_index(value, "<")
    if lt >= 0:
        gt = value.find(">", lt)
        if gt < 0:
            raise SipHeaderError(f"unclosed '<' in {value[:80]!r}")
        display = value[:lt].strip()
        if display.startswith('"') and display.endswith('"') and len(display) >= 2:
            display = display[1:-1].replace('\\"', '"')
        uri = value[lt + 1 : gt].strip()
        params = parse_params(value[gt + 1 :])
    else:
        # addr-spec form: parameters after the URI belong to the header, not the URI (20.10)
        uri, _, param_text = value.partition(";")
        display, params = "", parse_params(param_text)
        uri = uri.strip()
        if " " in uri:
            raise SipHeaderError(f"{value[:80]!r}: a display name needs the URI in <...>")
    if ":" not in uri and uri != "*":
        raise SipHeaderError(f"{uri[:80]!r} is not a URI")
    return NameAddr(uri, display or None, params)


def _unquoted_index(text: str, char: str) -> int:
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            return i
    return -1


def parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not is_token(parts[1]):
        raise SipHeaderError(f"CSeq {value[:80]!r} is not '<number> <METHOD>'")
    number = int(parts[0])
    if number > MAX_CSEQ:
        raise SipHeaderError(f"CSeq number {number} is not below 2**31")
    return number, parts[1]


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """'Digest realm="x", nonce="y", qop=auth' -> ('digest', {...}); for WWW-Authenticate,
    Authorization, Proxy-Authenticate and Proxy-Authorization."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    for item in split_commas(rest):
        name, eq, val = item.partition("=")
        if not eq:
            raise SipHeaderError(f"auth parameter {item[:40]!r} has no value")
        val = val.strip()
        if val.startswith('"') and val.endswith('"') and len(val) >= 2:
            val = val[1:-1].replace('\\"', '"')
        params[name.strip().lower()] = val
    return scheme.lower(), params
