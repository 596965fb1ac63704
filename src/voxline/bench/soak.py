"""Soak: one long call, sampling the worker's memory, to show it stays flat.

    python -m voxline.bench.soak --minutes 60 --out bench/results/soak.json

One call on the cloud-sim profile (the real Deepgram, OpenAI and ElevenLabs clients against the
protocol servers, which run in a process of their own so their memory is not counted), driven
by the file caller at `--fast` pace: the ten clinic caller lines, over and over, one caller turn
per ``--turn-seconds`` (10 s) of call time, so 60 minutes is 360 turns. Every ``--every`` turns
it samples the process's resident memory (/proc/self/statm, current, not peak), the number of
objects the garbage collector tracks, and the per-call structures that could grow (context
messages stored, turn records held). Reported: the least-squares slope of RSS per turn after a
warm-up, and the change it implies over the hour.

The agent's audio track is not kept (as when `voxline talk` is run without --out): the caller
still pulls every 20 ms frame from the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import time
from pathlib import Path
from typing import Any

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.bench.cloud_turns import fixed_profile
from voxline.bench.turns import write_results
from voxline.config import Settings
from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.providers.registry import Providers
from voxline.session.call import Call, CallEvent
from voxline.talk import load_caller_wavs
from voxline.testing.sim_process import cloud_sim_process
from voxline.transports.file import AgentTrack, FileCaller

PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mib() -> float:
    """Resident memory now (not the peak), from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_MIB


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0


class Sampler:
    """Samples memory every `every` recorded turns, from the call's own turn events."""

    def __init__(self, call: Call, every: int) -> None:
        self.call, self.every = call, every
        self.samples: list[dict[str, Any]] = []
        self.turns = 0
        self._t0 = time.perf_counter()
        call.observe(self._on_event)

    def sample(self) -> None:
        self.samples.append({
            "turn": self.turns,
            "rss_mib": round(rss_mib(), 2),
            "gc_objects": len(gc.get_objects()),
            "context_messages_stored": self.call.conversation.stored,
            "context_tokens_sent": self.call.conversation.token_count(),
            "turn_records_held": sum(1 for _ in self.call.records),
            "wall_s": round(time.perf_counter() - self._t0, 1),
        })

    def _on_event(self, event: CallEvent) -> None:
        if event.kind == "turn":
            self.turns += 1
            if self.turns % self.every == 0:
                self.sample()


async def run(minutes: float, turn_seconds: float, every: int, warmup_turns: int,
              wav_dir: Path) -> dict:
    turns = max(1, round(minutes * 60 / turn_seconds))
    lines = synthesize_lines(wav_dir)
    audio = load_caller_wavs(lines)  # ten utterances, reused: the script costs no memory
    script = [audio[i % len(audio)] for i in range(turns)]
    texts = [line.text for line in CALLER_LINES]
    transcripts = texts * (turns // len(texts) + 3)
    async with cloud_sim_process(Settings(), transcripts=transcripts, profile=fixed_profile) as sim:
        providers = Providers.load(sim.settings)
        await providers.warm(CLINIC_SYSTEM_PROMPT)
        call = Call(providers, sim.settings, transport="file")
        sampler = Sampler(call, every)
        sampler.sample()  # turn 0: before the call's first word
        caller = FileCaller(call, script, fast=True, pause_ms=800,
                            agent_track=AgentTrack.discard())
        started = time.perf_counter()
        result = await caller.run()
        wall_s = time.perf_counter() - started
        sampler.sample()
        await providers.aclose()
    samples = sampler.samples
    after = [s for s in samples if s["turn"] >= warmup_turns]
    per_turn = slope([s["turn"] for s in after], [s["rss_mib"] for s in after]) if len(after) > 1 else None
    outcomes: dict[str, int] = {}
    for record in call.records:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    return {
        "benchmark": "soak",
        "profile": "cloud-sim (servers in their own process), file caller at --fast pace",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "call_minutes_equivalent": minutes,
        "turn_seconds": turn_seconds,
        "caller_turns": turns,
        "turns_recorded": len(call.records),
        "turn_records_held_at_end": sum(1 for _ in call.records),
        "outcomes_of_held_records": outcomes,
        "utterances_answered": sum(u.answered for u in result.utterances),
        "audio_minutes_through_engine": round(caller.audio_ms / 60_000, 1),
        "speculative_turns_dropped": call.speculative_turns_dropped,
        "dropped_inbound_frames": call.dropped_frames,
        "wall_s": round(wall_s, 1),
        "warmup_turns": warmup_turns,
        "rss_mib": {
            "start": samples[0]["rss_mib"],
            "after_warmup": after[0]["rss_mib"] if after else None,
            "end": samples[-1]["rss_mib"],
            "max_after_warmup": max(s["rss_mib"] for s in after) if after else None,
            "min_after_warmup": min(s["rss_mib"] for s in after) if after else None,
            "slope_mib_per_turn_after_warmup": round(per_turn, 5) if per_turn is not None else None,
            "slope_mib_per_hour_after_warmup": (
                round(per_turn * 3600 / turn_seconds, 2) if per_turn is not None else None),
        },
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m voxline.bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="call time to simulate")
    parser.add_argument("--turn-seconds", type=float, default=10.0,
                        help="call time per caller turn (speech, answer and pauses)")
    parser.add_argument("--every", type=int, default=10, help="sample memory every N turns")
    parser.add_argument("--warmup-turns", type=int, default=30)
    parser.add_argument("--wavs", type=Path, default=Path("var/demo"))
    parser.add_argument("--out", type=Path, default=Path("bench/results/soak.json"))
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.turn_seconds <= 0 or args.every < 1:
        parser.error("--minutes and --turn-seconds must be positive, --every at least 1")
    results = asyncio.run(run(args.minutes, args.turn_seconds, args.every, args.warmup_turns,
                              args.wavs))
    write_results(args.out, results)
    rss = results["rss_mib"]
    print(f"{results['turns_recorded']} turns in {results['wall_s']} s; RSS {rss['start']} -> "
          f"{rss['after_warmup']} (after {args.warmup_turns} turns) -> {rss['end']} MiB; slope "
          f"{rss['slope_mib_per_turn_after_warmup']} MiB/turn "
          f"({rss['slope_mib_per_hour_after_warmup']} MiB/hour); wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
