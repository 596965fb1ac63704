"""Sans-IO RTP: packets, RTCP reports, RFC 4733 telephone-events, an adaptive jitter buffer."""
