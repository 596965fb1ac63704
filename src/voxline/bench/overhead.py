"""voxline's own share of a turn's answer path, given how long the provider servers held it.

The answer path runs from asking for the transcript to the first TTS audio back. The local
protocol servers record, on the system-wide monotonic clock, when each request arrived and
when its first answer left (`LatencyProfile.hold`). Whatever part of the path no server was
holding a request is voxline's: the engine, the clients, JSON and base64, the loopback hop.
The servers' own parsing and pacing count as provider time, as they would in the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxline.session.clock import Mark

# Each provider's span on the answer path (client stamps) and the name its server holds under.
SPANS: dict[str, tuple[Mark, Mark]] = {
    "stt_final": (Mark.STT_REQUEST, Mark.STT_FINAL),
    "llm_first_token": (Mark.LLM_REQUEST, Mark.LLM_FIRST_TOKEN),
    "tts_first_chunk": (Mark.TTS_REQUEST, Mark.TTS_FIRST_CHUNK),
}
STAMP_SLACK_NS = 2_000_000  # a client may stamp its request just after sending it

Hold = tuple[str, int, int]  # (what, received_ns, answered_ns)


@dataclass
class TurnOverhead:
    path_ms: float  # stt request → first TTS chunk, as the client saw it
    held_ms: float  # the servers' holds on that path
    clients_ms: dict[str, float]  # per provider: the client's span minus its server's hold
    engine_ms: float  # the path outside any client span: hand-offs inside the turn engine

    @property
    def own_ms(self) -> float:
        return self.path_ms - self.held_ms


def turn_overhead(stamps_ms: dict[str, float], call_started_ns: int,
                  holds: list[Hold]) -> TurnOverhead | None:
    """The split of one turn, or None when a span or its server's hold is missing."""
    def at_ns(mark: Mark) -> int | None:
        ms = stamps_ms.get(mark.value)
        return None if ms is None else call_started_ns + round(ms * 1e6)

    spans: dict[str, tuple[int, int, Hold]] = {}
    for what, (start_mark, end_mark) in SPANS.items():
        start, end = at_ns(start_mark), at_ns(end_mark)
        if start is None or end is None:
            return None
        held = [h for h in holds if h[0] == what and h[1] >= start - STAMP_SLACK_NS
                and h[2] <= end]
        if not held:
            return None
        spans[what] = (start, end, max(held, key=lambda h: h[2]))  # the one that answered
    path_start = spans["stt_final"][0]
    path_end = spans["tts_first_chunk"][1]
    held_ns = sum(hold[2] - hold[1] for _, _, hold in spans.values())
    clients = {what: ((end - start) - (hold[2] - hold[1])) / 1e6
               for what, (start, end, hold) in spans.items()}
    inside_spans_ns = sum(end - start for start, end, _ in spans.values())
    return TurnOverhead(
        path_ms=(path_end - path_start) / 1e6,
        held_ms=held_ns / 1e6,
        clients_ms={what: round(ms, 3) for what, ms in clients.items()},
        engine_ms=(path_end - path_start - inside_spans_ns) / 1e6,
    )
