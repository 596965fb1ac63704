"""The results math: percentiles, gaps in a playout track, and memory per call (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES = (50, 95, 99)
# A stretch without audio inside an answer shorter than this is an underrun (the worker sent
# too late); longer silences are the caller's own turns.
MAX_GAP_TICKS = 25  # 500 ms at 20 ms a tick


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """count, p50, p95, p99, max (ms figures rounded to 0.1); None figures when empty."""
    present = [v for v in values if v is not None]
    out: dict[str, float | int | None] = {"count": len(present)}
    for q in PERCENTILES:
        out[f"p{q}"] = round(percentile(present, q), 1) if present else None
    out["max"] = round(max(present), 1) if present else None
    return out


def playout_gaps(ticks: Sequence[bool], max_gap: int = MAX_GAP_TICKS) -> list[int]:
    """Lengths (in ticks) of the holes in a playout track: runs of ticks without audio that have
    audio on both sides and are at most `max_gap` long."""
    return [length for _, length in playout_holes(ticks, max_gap)]


def playout_holes(ticks: Sequence[bool], max_gap: int = MAX_GAP_TICKS) -> list[tuple[int, int]]:
    """(first tick, length in ticks) of each hole `playout_gaps` counts."""
    holes = []
    run = 0
    seen_audio = False
    for index, has_audio in enumerate(ticks):
        if has_audio:
            if seen_audio and 0 < run <= max_gap:
                holes.append((index - run, run))
            seen_audio = True
            run = 0
        else:
            run += 1
    return holes


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """Least-squares (slope, intercept); None when x does not vary."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys differ in length")
    n = len(xs)
    if n < 2:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx
    return slope, mean_y - slope * mean_x


def active_at(spans: Sequence[tuple[float, float]], t: float) -> int:
    """How many (start, end) spans contain t."""
    return sum(start <= t < end for start, end in spans)


def rss_per_call_mib(samples: Sequence[tuple[float, float]],
                     call_spans: Sequence[tuple[float, float]]) -> float | None:
    """Memory a call adds: the slope of the worker's RSS (MiB) against the calls active when
    each sample was taken. A slope, not RSS / calls: the worker's baseline is not per call."""
    points = [(active_at(call_spans, t), rss) for t, rss in samples]
    fit = linear_fit([float(n) for n, _ in points], [rss for _, rss in points])
    return None if fit is None else round(fit[0], 3)
