"""voxline's overhead per turn, timed exactly from the frame that completed the endpoint.

The caller counts the 20 ms frames it sends and keeps when it sent each one; the worker's turn
record says at which position of that same inbound stream the endpoint was decided
(`audio_ms.endpoint`, ms of frames the engine was fed: Twilio media frames map one to one).
The frame that completed the window is number endpoint/20 − 1, so

    overhead_ms = first agent media received − that frame sent − provider time left

Everything from the caller's last voiced sample to that frame is endpointing (the VAD's lag and
the trailing-silence window), counted in audio, not guessed per line. What remains is the
network (loopback here), the worker's receive path up to the endpointer, the engine's own hand-off
(`turn_latency_ms`) and the send path back. "Provider time left" is zero when the answer's
first TTS audio was back before the endpoint (speculative turns, the usual case); otherwise it
is the worker's own `tts_first_chunk − endpoint`, which also holds voxline's hand-offs to
the providers, so such a turn's figure errs low by those few ms and is counted apart
(`answers_ready_before_endpoint`).

Turns are matched to the worker's by the call's transport id (Twilio CallSid) and by where the
voice ended: the worker's `audio_ms.speech_end` nearest the caller's last voiced frame.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

FRAME_MS = 20
# The worker's speech end lies within this of the caller's last voiced frame (VAD lag and
# hangover one way, a soft tail under the VAD's threshold the other).
MATCH_MS = 500


def exact_overheads(results: list[dict[str, Any]], server_turns: list[dict[str, Any]]
                    ) -> list[float | None]:
    """One figure per caller turn, in the order of the calls' turns; None where the caller
    or the worker lacks what it needs (not the Twilio caller, no answer, no record)."""
    by_call = turns_by(server_turns, "transport_ref")
    return [turn_overhead(turn, by_call.get(result.get("call_sid") or "", []))
            for result in results for turn in result["turns"]]


def turns_by(server_turns: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """The worker's turns grouped by the call id a caller can name (`key` of each record)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for turn in server_turns:
        if turn.get(key):
            grouped[turn[key]].append(turn)
    return grouped


def turn_overhead(turn: dict[str, Any], server: list[dict[str, Any]]) -> float | None:
    frame, sends = turn.get("last_voiced_frame"), turn.get("sends_after_voice")
    media = turn.get("first_media_at")
    if frame is None or not sends or media is None:
        return None
    record = _matching(server, (frame + 1) * FRAME_MS)
    if record is None:
        return None
    decided = int(record["audio_ms"]["endpoint"]) // FRAME_MS - 1 - frame
    if not 0 <= decided < len(sends):
        return None
    return round((media - sends[decided]) * 1000 - _provider_time_left(record), 1)


def _matching(server: list[dict[str, Any]], voice_end_ms: int) -> dict[str, Any] | None:
    best, distance = None, MATCH_MS + 1
    for record in server:
        speech_end = (record.get("audio_ms") or {}).get("speech_end")
        if speech_end is None or "endpoint" not in record["audio_ms"]:
            continue
        if abs(speech_end - voice_end_ms) < distance:
            best, distance = record, abs(speech_end - voice_end_ms)
    return best


def _provider_time_left(record: dict[str, Any]) -> float:
    stamps = record.get("stamps_ms") or {}
    chunk, endpoint = stamps.get("tts_first_chunk"), stamps.get("endpoint")
    if chunk is None or endpoint is None:
        return 0.0
    return max(0.0, chunk - endpoint)
