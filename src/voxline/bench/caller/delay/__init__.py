"""Deterministic "delay agents": peers that answer the caller harness with a tone exactly
`delay_ms` after the caller's voice ends, and cut it `stop_ms` after the caller talks over it,
so a test can check that the harness measures a delay it knows (brain.py), over each
transport's wire protocol (twilio_peer.py, sip_peer.py, webrtc_peer.py)."""
