"""The spine benchmark: whole calls on the embedded models, at real-time pace, per-turn latency.

    python -m voxline.bench.turns --out bench/results/turns.json [--calls 2]

Each call plays the ten clinic caller lines (synthesized with the local voice) through the file
transport, as `voxline talk` does. Reported: p50/p95 of every latency name over all answered
turns, voice-to-voice measured by the file caller from audio, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.config import Settings
from voxline.demo import synthesize_lines
from voxline.providers.registry import Providers
from voxline.session.latency import DETAIL_NAMES, LATENCY_NAMES
from voxline.talk import talk


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is one that was measured)."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1),
        "p95": round(percentile(values, 95), 1),
        "max": round(max(values), 1),
    }


def write_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))


def print_figures(figures: dict[str, dict]) -> None:
    for name, figure in figures.items():
        if figure["n"]:
            print(f"  {name:<22} p50 {figure['p50']:>7}  p95 {figure['p95']:>7}  (n={figure['n']})")


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def run(calls: int, wav_dir: Path) -> dict:
    settings = Settings()  # VOXLINE_ENDPOINTING__* variables pick the endpointing under test
    load_before = round(os.getloadavg()[0], 2)
    started = time.perf_counter()
    providers = Providers.load(settings)
    await providers.warm(CLINIC_SYSTEM_PROMPT)
    load_s = time.perf_counter() - started
    rss_after_load = peak_rss_mib()
    wavs = synthesize_lines(wav_dir)
    turns = []
    for _ in range(calls):
        result = await talk(providers, settings, wavs)
        turns += [r.to_dict() for r in result.records]
    answered = [t for t in turns if t["outcome"] == "answered"]
    names = LATENCY_NAMES + DETAIL_NAMES
    figures = {
        name: summarize([t["latency"][name] for t in answered if t["latency"][name] is not None])
        for name in names
    }
    figures["voice_to_voice_ms"] = summarize(
        [t["voice_to_voice_ms"] for t in answered if t["voice_to_voice_ms"] is not None]
    )
    return {
        "benchmark": "spine-turns",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1m_before": load_before,
                    "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "providers": {"stt": settings.stt, "llm": settings.llm, "tts": settings.tts},
        "endpointing": settings.endpointing.model_dump(),
        "calls": calls,
        "turns": len(turns),
        "answered": len(answered),
        "outcomes": {o: sum(t["outcome"] == o for t in turns) for o in {t["outcome"] for t in turns}},
        "latency_ms": figures,
        "model_load_and_warm_s": round(load_s, 1),
        "peak_rss_mib_after_load": rss_after_load,
        "peak_rss_mib": peak_rss_mib(),
        "turn_records": turns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results/turns.json"))
    parser.add_argument("--calls", type=int, default=2, help="calls of ten turns each")
    parser.add_argument("--wavs", type=Path, default=Path("var/demo"))
    args = parser.parse_args()
    results = asyncio.run(run(args.calls, args.wavs))
    write_results(args.out, results)
    print(f"{results['answered']}/{results['turns']} turns answered; peak RSS {results['peak_rss_mib']} MiB")
    print_figures(results["latency_ms"])


if __name__ == "__main__":
    main()
