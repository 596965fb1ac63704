"""The caller's audio reaches the engine one packet later, not four.

aiortc's receiver keeps audio packets in a JitterBuffer with prefetch=4: a packet is released
only once four later ones have arrived, so every caller frame waits ~80 ms before it is decoded.
That depth suits a loudspeaker, which must never run dry. The engine is not one: it needs the
frames in order, and how evenly they come does not matter (the VAD and the endpointer count
frames, not wall time). So the hold is cut to the least aiortc's buffer allows, one packet
(a frame is known complete when the next timestamp arrives). Reordered packets still wait for
the missing one; a lost one still waits until the buffer's capacity, as before.

The buffer is a private attribute of aiortc's RTCRtpReceiver (pinned to 1.16 in pyproject):
if it is not where it is expected, the default hold stays and a warning says so.
"""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer

log = logging.getLogger(__name__)

AUDIO_PREFETCH = 1
_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"


def shorten_audio_hold(pc: RTCPeerConnection) -> int:
    """Give every audio receiver of `pc` that has not yet received a packet the one-packet
    hold; returns how many were changed. Call after setRemoteDescription."""
    changed = 0
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "audio":
            continue
        buffer = getattr(transceiver.receiver, _ATTRIBUTE, None)
        if not isinstance(buffer, JitterBuffer):
            log.warning("aiortc's receiver has no %s: the caller's audio keeps its 80 ms hold",
                        _ATTRIBUTE)
            continue
        if buffer._origin is not None:  # packets already in it: leave them be
            continue
        setattr(transceiver.receiver, _ATTRIBUTE,
                JitterBuffer(capacity=buffer.capacity, prefetch=AUDIO_PREFETCH))
        changed += 1
    return changed
