"""The browser's trickled ICE candidates: parsed, and admitted or refused with a reason.

Refused, and counted rather than handed to aiortc:
* mDNS names (`<uuid>.local`): resolving them means multicast queries on the LAN, which this
  server does not make (nothing leaves the box unless configured). Browsers use them only
  before the page has mic permission; a call has it, so real addresses follow.
* When the server's host candidates are pinned to loopback (tests), any non-loopback remote
  address: no check from 127.0.0.1 can reach it, and probing it would send traffic off-host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiortc import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

from voxline.transports.webrtc.messages import Candidate, SignallingError


def to_aiortc(message: Candidate) -> RTCIceCandidate:
    """The page's candidate as aiortc's RTCIceCandidate; SignallingError if it does not parse."""
    line = message.candidate.strip()
    line = line.removeprefix("a=").removeprefix("candidate:")
    try:
        candidate = candidate_from_sdp(line)
    except Exception as err:  # noqa: BLE001 - aiortc's parser raises bare assertion errors
        raise SignallingError(
            "bad_candidate",
            f"not an ICE candidate line ({type(err).__name__} {err}): {message.candidate[:120]!r}",
        ) from None
    candidate.sdpMid = message.sdp_mid
    candidate.sdpMLineIndex = message.sdp_mline_index
    return candidate


def refusal(candidate: RTCIceCandidate, pinned_local: Sequence[str]) -> str | None:
    """Why this remote candidate is not used, or None to use it."""
    if candidate.ip.lower().endswith(".local"):
        return "mdns"
    try:
        address = ipaddress.ip_address(candidate.ip)
    except ValueError:
        return "not_an_address"  # a host name: resolving it would be a DNS query
    loopback_only = pinned_local and all(ipaddress.ip_address(a).is_loopback for a in pinned_local)
    if loopback_only and not address.is_loopback:
        return "not_loopback"
    return None
