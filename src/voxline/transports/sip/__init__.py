"""Phone calls straight from a SIP trunk: UDP SIP, RTP/RTCP, G.711, into the turn engine."""

from voxline.transports.sip.agent import SipAgent

__all__ = ["SipAgent"]
