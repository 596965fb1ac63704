"""Benchmark: PII redaction per turn over the labelled set, and its precision/recall per type.

    chrt -r 1 .venv/bin/python -m voxline.bench.redaction [--rounds 20]

Writes bench/results/redaction.json: latency p50/p95/p99 of `redact_text` on one final
transcript (warm: detector built and every utterance run once before timing), the cost of
building a detector (cold start: census name lists), and the quality table on the labelled set
(the rules were tuned on it) and on a small held-out set (they were not).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import time
from pathlib import Path

from voxline.privacy.detect import PiiDetector, redact_text

DATA = Path(__file__).resolve().parents[3] / "tests" / "data" / "pii_utterances.jsonl"
# Written after the rules were tuned and never used to tune them (tests/data/make_pii_heldout.py)
HELD_OUT = DATA.with_name("pii_heldout.jsonl")
RESULT = Path("bench/results/redaction.json")


def load(path: Path = DATA) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(detector: PiiDetector, rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per type: a label is recalled when a found entity of its type overlaps it; a found
    entity is precise when it overlaps a label of its type. Also `redacted`: labels overlapped
    by a find of any type (what a caller's privacy depends on)."""
    table: dict[str, dict[str, int]] = {}

    def row(kind: str) -> dict[str, int]:
        return table.setdefault(
            kind, {"labels": 0, "recalled": 0, "redacted": 0, "found": 0, "precise": 0}
        )

    for item in rows:
        found = detector.find(item["text"])
        labels = item["entities"]
        for label in labels:
            stats = row(label["type"])
            span = (label["start"], label["end"])
            stats["labels"] += 1
            stats["recalled"] += any(
                e.type == label["type"] and _overlaps(span, (e.start, e.end)) for e in found
            )
            stats["redacted"] += any(_overlaps(span, (e.start, e.end)) for e in found)
        for entity in found:
            stats = row(entity.type)
            stats["found"] += 1
            stats["precise"] += any(
                label["type"] == entity.type
                and _overlaps((label["start"], label["end"]), (entity.start, entity.end))
                for label in labels
            )
    out: dict[str, dict[str, float]] = {}
    for kind, s in sorted(table.items()):
        out[kind] = {
            "labels": s["labels"],
            "found": s["found"],
            "recall": s["recalled"] / s["labels"] if s["labels"] else 1.0,
            "precision": s["precise"] / s["found"] if s["found"] else 1.0,
            "redacted": s["redacted"] / s["labels"] if s["labels"] else 1.0,
        }
    return out


def _percentile(sorted_values: list[float], q: float) -> float:
    idx = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[idx]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the labelled set")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    rows = load()
    started = time.perf_counter()
    detector = PiiDetector()
    build_ms = (time.perf_counter() - started) * 1000
    for item in rows:  # warm-up
        redact_text(item["text"], detector)
    samples: list[float] = []
    for _ in range(args.rounds):
        for item in rows:
            t0 = time.perf_counter_ns()
            redact_text(item["text"], detector)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
    samples.sort()
    # As the vault calls it: the previous utterance's last 64 characters as the carry.
    carried: list[float] = []
    for _ in range(max(1, args.rounds // 4)):
        for prev, item in itertools.pairwise(rows):
            t0 = time.perf_counter_ns()
            redact_text(item["text"], detector, carry=prev["text"][-64:])
            carried.append((time.perf_counter_ns() - t0) / 1e6)
    carried.sort()
    result = {
        "benchmark": "redaction",
        "what": "redact_text on one final transcript of the labelled set, warm, one thread",
        "utterances": len(rows),
        "turns_timed": len(samples),
        "latency_ms": {
            "p50": round(statistics.median(samples), 4),
            "p95": round(_percentile(samples, 95), 4),
            "p99": round(_percentile(samples, 99), 4),
            "max": round(samples[-1], 4),
        },
        "latency_with_carry_ms": {
            "p50": round(statistics.median(carried), 4),
            "p95": round(_percentile(carried, 95), 4),
            "p99": round(_percentile(carried, 99), 4),
            "turns_timed": len(carried),
        },
        "target_p95_ms": 5.0,
        "detector_build_ms": round(build_ms, 1),
        "quality": score(detector, rows),
        "quality_heldout": score(detector, load(HELD_OUT)),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps({k: result[k] for k in ("latency_ms", "latency_with_carry_ms", "load_average")})
    )
    for name in ("quality", "quality_heldout"):
        print(name)
        for kind, q in result[name].items():
            print(
                f"  {kind:10} n={q['labels']:3} found={q['found']:3} recall={q['recall']:.3f} "
                f"precision={q['precision']:.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
