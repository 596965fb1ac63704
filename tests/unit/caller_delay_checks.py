"""Shared checks of the delay-agent tests: the harness's figures against what the agent did.

Two references per figure: what the agent put on the wire (its tone's real first/last sample
times; a starved machine can make the agent itself late) and the injected delay, checked on
the turns where the agent kept its schedule (within ON_TIME_S)."""

from __future__ import annotations

FRAME_MS = 20
ON_TIME_S = 0.005


def check_against_agent(result, brain, delay_ms: float, stop_ms: float, barge_turn: int) -> None:
    measured = [t.voice_to_voice_ms for t in result.turns]
    assert None not in measured, result.to_dict()
    wire = [(start - end) * 1000 for start, end in zip(brain.wire_starts, brain.voice_ends)]
    for got, truth in zip(measured, wire, strict=True):
        assert abs(got - truth) <= FRAME_MS, (measured, wire)
    on_time = [i for i, (tone, sent) in enumerate(zip(brain.tones, brain.wire_starts))
               if sent - tone[0] <= ON_TIME_S]
    assert on_time, f"the agent missed every tone start {brain.tones} {brain.wire_starts}"
    for i in on_time:
        assert abs(measured[i] - delay_ms) <= FRAME_MS, (i, measured, delay_ms)
    barge = result.turns[barge_turn]
    for turn in result.turns:
        assert (turn.barge_in_stop_ms is None) == (turn is not barge), result.to_dict()
    (barged_at,) = brain.barge_ins
    stopped = brain.wire_stops[barge_turn - 1]
    assert abs(barge.barge_in_stop_ms - (stopped - barged_at) * 1000) <= FRAME_MS, barge
    if stopped - (barged_at + stop_ms / 1000) <= ON_TIME_S:
        assert abs(barge.barge_in_stop_ms - stop_ms) <= FRAME_MS, barge
