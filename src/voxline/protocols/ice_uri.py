"""STUN and TURN server URIs (RFC 7064, RFC 7065), parsed without I/O.

    stun:host[:port]    stuns:host[:port]
    turn:host[:port][?transport=udp|tcp]    turns:host[:port][?transport=udp|tcp]

The host is a name, an IPv4 address, or an IPv6 address in brackets. Config validation and the
HIPAA host check both read hosts through here, so they agree on what "the host" of a URI is.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_URI = re.compile(
    r"(?P<scheme>stuns?|turns?):"
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\[\]?:/@]+))"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?:\?transport=(?P<transport>[a-z]+))?"
)
_DEFAULT_PORT = {"stun": 3478, "turn": 3478, "stuns": 5349, "turns": 5349}


@dataclass(frozen=True, slots=True)
class IceUri:
    scheme: str  # "stun", "stuns", "turn" or "turns"
    host: str  # lower-cased name, or an IP address in its compressed form (no brackets)
    port: int
    transport: str | None  # "udp" or "tcp" for TURN; None for STUN

    @property
    def is_turn(self) -> bool:
        return self.scheme in ("turn", "turns")


def parse_ice_uri(uri: str) -> IceUri:
    """Parse one STUN/TURN URI; ValueError says what is wrong with it."""
    match = _URI.fullmatch(uri.strip())
    if match is None:
        raise ValueError(
            f"{uri!r} is not a STUN/TURN URI (stun:host[:port], "
            "turn:host[:port][?transport=udp|tcp], or stuns:/turns:)"
        )
    scheme = match["scheme"]
    transport = match["transport"]
    if transport is not None and not scheme.startswith("turn"):
        raise ValueError(f"{uri!r}: a STUN URI takes no ?transport= (RFC 7064)")
    if transport not in (None, "udp", "tcp"):
        raise ValueError(f"{uri!r}: transport must be udp or tcp, got {transport!r}")
    port = int(match["port"]) if match["port"] else _DEFAULT_PORT[scheme]
    if not 0 < port < 65536:
        raise ValueError(f"{uri!r}: port {port} is out of range")
    if scheme.startswith("turn") and transport is None:
        transport = "tcp" if scheme == "turns" else "udp"
    return IceUri(scheme, normalize_host(match["ipv6"] or match["host"]), port, transport)


def normalize_host(host: str) -> str:
    """One spelling per host: IP addresses compressed, names lower-cased without a final dot."""
    host = host.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower().rstrip(".")
