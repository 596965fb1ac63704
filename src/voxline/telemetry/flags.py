"""Which calls are flagged for review, from what the call recorded (pure rules).

* `stt_reconnections`: the STT stream reconnected `stt_reconnections_flag` times (3) or more:
  the caller spoke into a link that kept dropping.
* `over_budget:<name>`: some turn's figure passed its budget (DESIGN.md: STT 120, LLM first
  token 250, TTS first chunk 100 ms; a whole turn 800 ms).
* `ice_failed`: WebRTC connectivity failed, which a caller experiences as a dropped call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ICE_FAILED = "ice_failed"
STT_RECONNECTIONS = "stt_reconnections"


def turn_flags(latency: Mapping[str, float | None], budgets_ms: Mapping[str, float]) -> set[str]:
    return {
        f"over_budget:{name}"
        for name, budget in budgets_ms.items()
        if (value := latency.get(name)) is not None and value > budget
    }


def call_flags(
    turn_flag_sets: Iterable[set[str]],
    stt_reconnections: int,
    reconnections_threshold: int,
    ice_failed: bool,
) -> list[str]:
    flags: set[str] = set().union(*turn_flag_sets)
    if stt_reconnections >= reconnections_threshold:
        flags.add(STT_RECONNECTIONS)
    if ice_failed:
        flags.add(ICE_FAILED)
    return sorted(flags)
