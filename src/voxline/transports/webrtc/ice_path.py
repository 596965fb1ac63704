"""Which path a connected call's media took: host, server-reflexive or relay (TURN).

Worth knowing per call (a relayed call costs TURN bandwidth and adds a hop of latency), and it
is how the tests prove that the TURN path works. aiortc 1.16 reports no candidate-pair stats,
so this reads the pair aioice nominated; with BUNDLE every track and the data channel share it.
"""

from __future__ import annotations

from aiortc import RTCIceCandidate, RTCPeerConnection
from aiortc.rtcicetransport import RTCIceTransport, candidate_from_aioice


def selected_candidate_pair(
    pc: RTCPeerConnection,
) -> tuple[RTCIceCandidate, RTCIceCandidate] | None:
    """(local, remote) candidates of the nominated pair, or None until ICE has completed."""
    ice = _ice_transport(pc)
    if ice is None:
        return None
    pair = ice._connection._nominated.get(1)  # component 1: RTP and SCTP share it (rtcp-mux)
    if pair is None:
        return None
    return candidate_from_aioice(pair.local_candidate), candidate_from_aioice(pair.remote_candidate)


def _ice_transport(pc: RTCPeerConnection) -> RTCIceTransport | None:
    dtls = [t.sender.transport for t in pc.getTransceivers() if t.sender.transport is not None]
    if pc.sctp is not None:
        dtls.append(pc.sctp.transport)
    return dtls[0].transport if dtls else None
