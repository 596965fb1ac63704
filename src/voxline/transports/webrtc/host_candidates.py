"""Which local addresses aiortc offers as ICE host candidates.

aioice gathers host candidates on every interface address except 127.0.0.1 and ::1, and has no
option to choose them (aioice issue #2, open since 2018): `Connection.gather_candidates` calls
the module-level `aioice.ice.get_host_addresses`. Replacing that one function is the narrowest
hook there is, and it is process-wide, like the setting it serves (one WebRTCSettings per worker).

Pinning matters twice: a test on loopback needs 127.0.0.1, which aioice skips; and a server with
several interfaces (docker bridges, VPNs) should offer only the one callers can reach, instead of
leaking internal addresses into every SDP answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import aioice.ice

_aioice_default = aioice.ice.get_host_addresses
_pinned: tuple[str, ...] = ()


def pin_host_addresses(addresses: Sequence[str]) -> None:
    """Offer host candidates on exactly `addresses` from now on; empty: aioice's own choice."""
    global _pinned
    _pinned = tuple(str(ipaddress.ip_address(a)) for a in addresses)
    aioice.ice.get_host_addresses = _host_addresses


def pinned_host_addresses() -> tuple[str, ...]:
    return _pinned


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if not _pinned:
        return _aioice_default(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    wanted = {4: use_ipv4, 6: use_ipv6}
    return [a for a in _pinned if wanted[ipaddress.ip_address(a).version]]
