"""voxline's overhead per WebRTC turn, timed exactly as over Twilio (exact_overhead.py).

The worker's engine frame n is the caller's Opus packet n: one 20 ms packet per mic frame, and
the worker decodes each packet and turns it into one 20 ms engine frame at once
(transports/webrtc/inbound.py), neither concealing a lost packet nor duplicating one. So the
turn record's `audio_ms.endpoint` names the mic frame that completed the endpoint, and the mic
kept when it handed each frame to aiortc's sender (testing/webrtc_client.py). The answer's
first media is the arrival of the first packet after the caller's voice that decodes to
anything but digital silence (the agent's track sends zeros while quiet), timed at the packet,
before any receive hold.

Joined by the WebRTC call id (the caller gets it from POST /webrtc/calls; the worker records
the call under it). A call whose packets the worker reported lost (RTCP receiver reports,
`inbound_lost`, or none received yet) has its frames shifted against the worker's count: its
turns get the estimate (results.py) instead, and the step's `overhead_method` says how many.

What the figure leaves out, because it lies in the audio rather than in the time a packet
takes: the caller's Opus encoder's look-ahead (~2.5-6.5 ms of the mic's audio is in the next
packet) and the worker's 3:1 filter (~1 ms). Both are in voice_to_voice_ms.
"""

from __future__ import annotations

from typing import Any

from voxline.bench.scenario.exact_overhead import turn_overhead, turns_by


def webrtc_overheads(results: list[dict[str, Any]], server_turns: list[dict[str, Any]],
                     estimate: list[float | None]) -> tuple[list[float | None], str]:
    """One figure per caller turn, in the order of the calls' turns (as `estimate` is), and
    the method: exact where the call lost no packet, the estimate for the turns of a call that
    did (or whose loss is unknown), None where neither has a figure."""
    by_call = turns_by(server_turns, "call_id")
    out: list[float | None] = []
    estimated = 0
    for result in results:
        server = by_call.get(result.get("call_id") or "", [])
        for turn in result["turns"]:
            if result.get("inbound_lost") == 0:
                out.append(turn_overhead(turn, server))
            else:
                out.append(estimate[len(out)])
                estimated += out[-1] is not None
    if not estimated:
        return out, "exact"
    return out, f"exact; estimate for {estimated} turns of calls that lost packets"
