"""The `voxline call` output: a per-turn table for people, call.json for programs."""

from __future__ import annotations

import json
from pathlib import Path

from voxline.bench.caller.result import CallResult


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def table(result: CallResult) -> str:
    head = (f"{result.transport} call to {result.target}: set-up {_ms(result.setup_ms)} ms, "
            f"{result.duration_ms / 1000:.1f} s, ended by {result.ended_by}")
    lines = [head,
             f"{'turn':>4}  {'wav':<24} {'voice_to_voice_ms':>17} {'barge_in_stop_ms':>16}  note"]
    for turn in result.turns:
        name = Path(turn.wav).name
        lines.append(f"{turn.index + 1:>4}  {name[:24]:<24} {_ms(turn.voice_to_voice_ms):>17} "
                     f"{_ms(turn.barge_in_stop_ms):>16}  {turn.note or ''}")
    lines.append(f"audio gaps heard: {result.gaps} ({result.underrun_ms} ms); "
                 f"packets missing: {result.sequence_gaps}")
    if result.error:
        lines.append(f"error: {result.error}")
    return "\n".join(lines)


def write_json(result: CallResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
