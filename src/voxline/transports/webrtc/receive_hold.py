"""The caller's audio reaches the engine the moment its packet arrives, not four packets later.

aiortc's receiver keeps audio packets in a JitterBuffer with prefetch=4: a packet is released
only once four later ones have arrived, so every caller frame waits ~80 ms before it is decoded.
That depth suits a loudspeaker, which must never run dry. The engine is not one: it needs the
frames in order, and how evenly they come does not matter (the VAD and the endpointer count
frames, not wall time). So the audio receiver gets an InOrderJitterBuffer instead: a packet
next in sequence goes to the decoder at once; only a gap holds the packets after it
(in_order_buffer.py). aiortc's own buffer at its least (prefetch=1) still held one packet
(20 ms), since it waits for the next timestamp to call a frame complete.

The buffer is a private attribute of aiortc's RTCRtpReceiver (pinned to 1.16 in pyproject):
if it is not where it is expected, the default hold stays and a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer

from voxline.transports.webrtc.in_order_buffer import InOrderJitterBuffer

log = logging.getLogger(__name__)

_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"


def shorten_audio_hold(
    pc: RTCPeerConnection,
    make_buffer: Callable[[int], InOrderJitterBuffer] = InOrderJitterBuffer,
) -> list[InOrderJitterBuffer]:
    """Give every audio receiver of `pc` that has not yet received a packet a buffer from
    `make_buffer(capacity)`; returns the buffers installed. Call after setRemoteDescription
    (an answering peer) or after addTrack / addTransceiver (an offering one)."""
    installed = []
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "audio":
            continue
        buffer = getattr(transceiver.receiver, _ATTRIBUTE, None)
        if isinstance(buffer, InOrderJitterBuffer):  # already installed
            continue
        if not isinstance(buffer, JitterBuffer):
            log.warning("aiortc's receiver has no %s: the caller's audio keeps its 80 ms hold",
                        _ATTRIBUTE)
            continue
        if buffer._origin is not None:  # packets already in it: leave them be
            continue
        replacement = make_buffer(buffer.capacity)
        setattr(transceiver.receiver, _ATTRIBUTE, replacement)
        installed.append(replacement)
    return installed
