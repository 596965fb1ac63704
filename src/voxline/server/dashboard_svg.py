"""Inline SVG plots for the dashboard: a turn's latency waterfall, per-component percentile
bars against their budgets, and a sparkline of a call's turn latencies. Pure functions from
numbers to markup; no JavaScript, so the pages render anywhere, curl included.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

# One colour per stage of a turn, the same on every plot.
STAGE_COLOURS = {
    "endpoint": "#9aa5b1",
    "stt": "#3b82f6",
    "llm first token": "#8b5cf6",
    "first clause": "#c4b5fd",
    "tts first chunk": "#f59e0b",
    "first audio out": "#10b981",
}
LABEL_W = 130
ROW_H = 22


def _svg_open(css: str, width: float, height: float) -> str:
    return (f'<svg class="{css}" role="img" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">')


def _nice_step(span: float, ticks: int = 6) -> float:
    raw = max(span, 1.0) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def waterfall_svg(
    rows: Sequence[Sequence[object]],
    *,
    voice_to_voice_ms: float | None = None,
    width: int = 720,
) -> str:
    """Rows of (stage, start_ms, end_ms) from the caller's last voiced audio, as bars on a
    shared time axis; voice-to-voice (measured by the client) as a marker line."""
    if not rows:
        return '<p class="muted">no timing for this turn</p>'
    starts = [float(r[1]) for r in rows]
    ends = [float(r[2]) for r in rows]
    lo = min(0.0, *starts)
    hi = max(*ends, voice_to_voice_ms or 0.0)
    step = _nice_step(hi - lo)
    # A stage that starts a hair before the origin (stamps rounded to µs) needs no extra tick.
    lo = 0.0 if lo > -0.02 * step else math.floor(lo / step) * step
    hi = math.ceil(hi / step) * step or step
    plot_w = width - LABEL_W - 20
    height = len(rows) * ROW_H + 34

    def x(ms: float) -> float:
        return LABEL_W + (ms - lo) / (hi - lo) * plot_w

    parts = [_svg_open("waterfall", width, height),
             "<title>latency waterfall, ms from the end of the caller's speech</title>"]
    tick = lo
    while tick <= hi + 1e-9:
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="4" y2="{height - 24}" '
                     f'class="grid"/><text x="{x(tick):.1f}" y="{height - 8}" class="tick" '
                     f'text-anchor="middle">{tick:g}</text>')
        tick += step
    parts.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="2" y2="{height - 24}" '
                 f'class="origin"/>')
    for i, row in enumerate(rows):
        stage, start, end = str(row[0]), float(row[1]), float(row[2])
        y = 6 + i * ROW_H
        colour = STAGE_COLOURS.get(stage, "#64748b")
        bar_w = max(2.0, x(end) - x(start))
        label = html.escape(stage)
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 14}" text-anchor="end" class="label">{label}</text>'
            f'<rect x="{x(start):.1f}" y="{y + 2}" width="{bar_w:.1f}" height="{ROW_H - 6}" '
            f'rx="3" fill="{colour}"><title>{label}: {start:.0f} → {end:.0f} ms '
            f'({end - start:.0f} ms)</title></rect>'
            f'<text x="{x(start) + bar_w + 4:.1f}" y="{y + 14}" class="value">'
            f'{end - start:.0f}</text>'
        )
    if voice_to_voice_ms is not None:
        vx = x(voice_to_voice_ms)
        parts.append(f'<line x1="{vx:.1f}" x2="{vx:.1f}" y1="2" y2="{height - 24}" '
                     f'class="v2v"/><text x="{vx - 4:.1f}" y="{height - 26}" class="v2v-label" '
                     f'text-anchor="end">voice-to-voice {voice_to_voice_ms:.0f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)


def percentile_bars_svg(
    stats: Sequence[tuple[str, float | None, float | None, float | None]], *, width: int = 720
) -> str:
    """Rows of (component, p50, p95, budget): a dark bar to p50, a light one to p95, and a
    red tick at the budget, on a shared ms axis."""
    values = [v for _, p50, p95, budget in stats for v in (p50, p95, budget) if v is not None]
    if not values:
        return '<p class="muted">no turns in this window</p>'
    hi = max(values) * 1.08
    step = _nice_step(hi)
    hi = math.ceil(hi / step) * step
    label_w, plot_w = 170, width - 170 - 70
    height = len(stats) * 26 + 30

    def x(ms: float) -> float:
        return label_w + ms / hi * plot_w

    parts = [_svg_open("percentiles", width, height),
             "<title>p50 and p95 per component, with budgets</title>"]
    tick = 0.0
    while tick <= hi + 1e-9:
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="2" y2="{height - 22}" '
                     f'class="grid"/><text x="{x(tick):.1f}" y="{height - 6}" class="tick" '
                     f'text-anchor="middle">{tick:g}</text>')
        tick += step
    for i, (name, p50, p95, budget) in enumerate(stats):
        y = 4 + i * 26
        label = html.escape(name)
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">'
                     f"{label}</text>")
        if p95 is not None:
            over = budget is not None and p95 > budget
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{x(p95) - label_w:.1f}" '
                         f'height="16" rx="3" class="p95{" over" if over else ""}">'
                         f"<title>{label} p95 {p95:.0f} ms</title></rect>")
        if p50 is not None:
            parts.append(f'<rect x="{label_w}" y="{y + 7}" width="{x(p50) - label_w:.1f}" '
                         f'height="8" rx="2" class="p50"><title>{label} p50 {p50:.0f} ms'
                         f"</title></rect>")
        if budget is not None:
            parts.append(f'<line x1="{x(budget):.1f}" x2="{x(budget):.1f}" y1="{y}" '
                         f'y2="{y + 22}" class="budget"><title>budget {budget:.0f} ms</title>'
                         "</line>")
        text = "—" if p95 is None else f"{p50:.0f} / {p95:.0f}"
        parts.append(f'<text x="{width - 4}" y="{y + 15}" text-anchor="end" class="value">'
                     f"{text}</text>")
    parts.append("</svg>")
    return "".join(parts)


def sparkline_svg(values: Sequence[float | None], *, budget: float = 800.0) -> str:
    """A call's turn latencies as little bars; bars past the budget are red."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    top = max(max(known), budget) or 1.0
    w, h, gap = 8, 24, 2
    parts = [_svg_open("spark", len(values) * (w + gap), h)]
    for i, v in enumerate(values):
        if v is None:
            continue
        bar = max(1.0, v / top * h)
        css = "over" if v > budget else "ok"
        parts.append(f'<rect x="{i * (w + gap)}" y="{h - bar:.1f}" width="{w}" '
                     f'height="{bar:.1f}" class="{css}"><title>turn {i + 1}: {v:.0f} ms'
                     "</title></rect>")
    parts.append("</svg>")
    return "".join(parts)
