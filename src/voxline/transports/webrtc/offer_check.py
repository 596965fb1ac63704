"""Is a browser's SDP offer one this server can answer? Checked before aiortc sees it.

aiortc's parser accepts an empty string and fails on a bad line with a bare AssertionError or
IndexError, so a caller would get "AssertionError" for a typo. This says what is missing in
words the page (and its developer) can act on; aiortc's own parse is the last check.
"""

from __future__ import annotations

import re

from aiortc import sdp as aiortc_sdp

from voxline.transports.webrtc.messages import SignallingError

_OPUS = re.compile(r"^a=rtpmap:\d+ opus/48000", re.IGNORECASE | re.MULTILINE)


def _bad(message: str) -> SignallingError:
    return SignallingError("bad_sdp", message)


def check_offer(sdp: str) -> None:
    """Raise SignallingError("bad_sdp", ...) unless `sdp` is a usable WebRTC audio offer."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "v=0":
        raise _bad("an SDP offer starts with 'v=0'")
    media = [line for line in lines if line.startswith("m=")]
    if not any(line.startswith("m=audio ") for line in media):
        raise _bad("the offer has no audio section (m=audio): add an audio track or transceiver")
    if not _OPUS.search(sdp):
        raise _bad("the offer's audio does not include Opus (a=rtpmap:<pt> opus/48000/2)")
    if "a=ice-ufrag:" not in sdp or "a=ice-pwd:" not in sdp:
        raise _bad("the offer has no ICE credentials (a=ice-ufrag / a=ice-pwd)")
    if "a=fingerprint:" not in sdp:
        raise _bad("the offer has no DTLS fingerprint (a=fingerprint): WebRTC media is encrypted")
    try:
        aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as err:  # noqa: BLE001 - the parser raises bare assertion/index errors
        raise _bad(f"the offer does not parse as SDP ({type(err).__name__} {err})") from None
