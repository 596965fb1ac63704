"""voxline's overhead per SIP turn, timed exactly as over Twilio (exact_overhead.py).

The worker hands each caller RTP packet to the engine the moment it arrives, as one 20 ms
frame (transports/sip/media.py), starting from the first packet it latched on; the caller
harness's UAC sends nothing on the media port before its first packet, and one packet per line
frame from there. So the turn record's `audio_ms.endpoint` names the caller's packet that
completed the endpoint, and the harness kept when it sent each (bench/caller/sip.py). The
answer's first media is the arrival of the first marked packet after the caller's voice (the
worker marks the first packet of each talkspurt, RFC 3551; between answers it sends comfort
silence, unmarked).

The one-to-one mapping holds while the worker neither conceals, fills, holds back nor drops a
frame: the worker's `sip_inbound` event says up to which inbound position it held
(`exact_until_ms`, None: the whole call). A turn whose endpoint lies past that gets the
estimate (results.py) instead, and the step's `overhead_method` says how many.

Joined by the SIP Call-ID (the call record's `transport_ref`).
"""

from __future__ import annotations

import bisect
from typing import Any

from voxline.bench.scenario.exact_overhead import turn_overhead, turns_by

SENDS_KEPT = 150  # send times kept per turn from the last voiced packet on: past the window


def caller_turn(call: Any, turn: Any) -> dict[str, Any]:
    """What the caller side adds to one turn's result (in the caller process): the packet that
    held the last voiced sample, the send times from it on, and the first agent media after
    the voice. `call`: the harness's SipCall once the call is over; `turn`: its TurnResult."""
    frame, sent = turn.last_voiced_frame, call.sent_at
    if frame is None or frame >= len(sent) or turn.voice_ended_at_ms is None:
        return {}
    voice_end = sent[0] + turn.voice_ended_at_ms / 1000  # sent[0]: the line's media time zero
    starts = call.media.talkspurts_at
    index = bisect.bisect_right(starts, voice_end)
    media_at = starts[index] if index < len(starts) and turn.answered else None
    return {"last_voiced_frame": frame, "first_media_at": media_at,
            "sends_after_voice": list(sent[frame:frame + SENDS_KEPT])}


def sip_overheads(results: list[dict[str, Any]], server_turns: list[dict[str, Any]],
                  estimate: list[float | None]) -> tuple[list[float | None], str]:
    """One figure per caller turn, in the order of the calls' turns (as `estimate` is), and
    the method: exact where the worker's frames were the caller's packets one to one, the
    estimate for the other turns, None where neither has a figure."""
    by_call = turns_by(server_turns, "transport_ref")
    out: list[float | None] = []
    estimated = 0
    for result in results:
        server = by_call.get(result.get("transport_ref") or "", [])
        exact = [t for t in server if _one_to_one(t)]
        for turn in result["turns"]:
            figure = turn_overhead(turn, exact)
            if figure is None and turn_overhead(turn, server) is not None:
                figure = estimate[len(out)]  # timed, but from a shifted frame count
                estimated += figure is not None
            out.append(figure)
    if not estimated:
        return out, "exact"
    return out, (f"exact; estimate for {estimated} turns the worker did not hand on one "
                 "caller packet per frame up to their endpoint (sip_inbound)")


def _one_to_one(record: dict[str, Any]) -> bool:
    """The worker's frames up to this turn's endpoint were the caller's packets, one each."""
    inbound = record.get("inbound")
    endpoint = (record.get("audio_ms") or {}).get("endpoint")
    if inbound is None or endpoint is None:
        return False  # no word from the worker: not known to be exact
    until = inbound.get("exact_until_ms")
    return until is None or endpoint <= until
