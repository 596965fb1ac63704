"""One step's figures from what the callers, the worker's records and the sampler saw.

Over Twilio the overhead is timed exactly (exact_overhead.py): from the caller's send of the
frame that completed the endpoint; over SIP and WebRTC likewise (sip_overhead.py,
webrtc_overhead.py) while the worker's frames are the caller's packets one to one. Where that
is not available, it is estimated, and `overhead_ms` says which in `overhead_method`. The estimate, per turn (kept as `overhead_estimate_ms` for comparison):

    overhead_ms = voice_to_media_ms + CAPTURE_FRAME_MS − endpoint window − VAD tail of the line

`voice_to_media_ms` is voice-to-voice up to the first agent audio message of any level: the
TTS audio's own quiet lead-in (a property of the voice, several ms to tens of ms) is left out,
and reported apart as `tts_lead_ms` (when the caller's WebRTC path has no such figure, the
voice-to-voice is used and the overhead includes that lead-in).

The VAD tail (vad_tail.py) is how much later than the caller's −40 dBFS floor the worker's
VAD hears the line end, fixed per line. CAPTURE_FRAME_MS: the Twilio caller sends each 20 ms
frame at the start of its 20 ms and times its samples from there, while a phone sends a frame
after capturing it; so the caller's last voiced sample is stamped one frame late, and
voice-to-voice one frame short, against a real caller. Turns are
speculative (STT, LLM and TTS start at the caller's first silence), so with the scenario's
provider delays (380 ms in all by default) inside the window, no provider time is left on the
critical path when the endpoint fires: what remains past the window is voxline's (VAD tail,
transport in and out, the 20 ms pacing tick, JSON/base64) plus loopback. The worker's records
say for how many turns the first TTS audio was indeed back before the endpoint
(`answers_ready_before_endpoint`); a turn where it was not carries provider time in its
overhead, so the figure errs high, never low.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voxline.bench.scenario.exact_overhead import exact_overheads
from voxline.bench.scenario.schema import Scenario
from voxline.bench.scenario.sip_overhead import sip_overheads
from voxline.bench.scenario.stats import active_at, linear_fit, rss_per_call_mib, summarize
from voxline.bench.scenario.webrtc_overhead import webrtc_overheads
from voxline.bench.scenario.worker import SERVER_COMPONENTS, answer_ready_before_endpoint

CAPTURE_FRAME_MS = 20.0

Sample = tuple[float, float, float]  # (monotonic s, CPU %, RSS MiB)


def step_results(
    scenario: Scenario,
    calls: int,
    results: list[dict[str, Any]],
    server_turns: list[dict[str, Any]],
    samples: Sequence[Sample],
    *,
    idle: tuple[float, float],
    window: tuple[float, float],
    load: tuple[tuple[float, ...], tuple[float, ...]],
    vad_tails: dict[str, float | None] | None = None,
    others: Sequence[tuple[float, float | None, float, float, float]] = (),
    log_tail: str = "",
) -> dict[str, Any]:
    turns = [t for r in results for t in r["turns"]]
    v2v = [t["voice_to_voice_ms"] for t in turns]
    window_ms = scenario.worker.endpoint_ms
    tails = vad_tails or {}
    estimate = [turn_overhead_ms(t.get("voice_to_media_ms", t["voice_to_voice_ms"]), window_ms,
                                 tails.get(t["line"])) for t in turns]
    if scenario.transport == "webrtc":
        overhead, method = webrtc_overheads(results, server_turns, estimate)
    elif scenario.transport == "sip":
        overhead, method = sip_overheads(results, server_turns, estimate)
    else:
        exact = exact_overheads(results, server_turns)
        method = "exact" if any(v is not None for v in exact) else "estimate"
        overhead = exact if method == "exact" else estimate
    lead = [t["voice_to_voice_ms"] - t["voice_to_media_ms"] for t in turns
            if t.get("voice_to_media_ms") is not None and t["voice_to_voice_ms"] is not None]
    past_window = [None if v is None else round(v - window_ms, 1) for v in v2v]
    latency = {"voice_to_voice_ms": summarize(v2v), "overhead_ms": summarize(overhead),
               "overhead_estimate_ms": summarize(estimate),
               "past_window_ms": summarize(past_window), "tts_lead_ms": summarize(lead)}
    for name in SERVER_COMPONENTS:
        latency[name] = summarize([t.get(name) for t in server_turns])
    ready = [answer_ready_before_endpoint(t) for t in server_turns]
    failed = [r for r in results if r.get("error")]
    gaps = [r["gaps"] for r in results if r.get("gaps") is not None]
    spans = [(r["started_at"], r["ended_at"]) for r in results]
    step = {
        "calls": calls,
        "placed": len(results),
        "failed": len(failed),
        "errors": sorted({r["error"] for r in failed})[:10],
        "turns": len(turns),
        "answered": sum(v is not None for v in v2v),
        "server_turns": len(server_turns),
        "server_outcomes": _count(t["outcome"] for t in server_turns),
        "answers_ready_before_endpoint": f"{sum(r is True for r in ready)}/{len(ready)}",
        "endpoint_window_ms": window_ms,
        "overhead_method": method,
        "overhead_timed_turns": sum(v is not None for v in overhead),
        "vad_tail_ms": tails,
        "latency_ms": latency,
        "setup_ms": summarize([r.get("setup_ms") for r in results]),
        "gaps": sum(gaps) if gaps else None,
        "gap_ms": sum(r.get("gap_ms", 0) for r in results) if gaps else None,
        "calls_with_gaps": sum(g > 0 for g in gaps) if gaps else None,
        "worker": worker_figures(samples, idle, window, spans, calls),
        "others": other_figures(others, window, spans, calls),
        "load_avg_before": [round(x, 2) for x in load[0]],
        "load_avg_after": [round(x, 2) for x in load[1]],
        "overhead_per_turn_ms": overhead,
        "server_values": {name: [t[name] for t in server_turns if t.get(name) is not None]
                          for name in SERVER_COMPONENTS},
        "calls_detail": [_call_detail(r) for r in results],
    }
    if failed or not turns:
        step["worker_log_tail"] = log_tail
    return step


def turn_overhead_ms(v2v: float | None, window_ms: float,
                     vad_tail_ms: float | None) -> float | None:
    """voxline's share of one turn's voice-to-voice (see the module's docstring)."""
    if v2v is None or vad_tail_ms is None:
        return None
    return round(v2v + CAPTURE_FRAME_MS - window_ms - vad_tail_ms, 1)


def worker_figures(samples: Sequence[Sample], idle: tuple[float, float],
                   window: tuple[float, float], spans: list[tuple[float, float]],
                   calls: int) -> dict[str, Any]:
    """CPU and memory of the worker: idle, while all calls were up, and per call (slopes)."""
    idle_samples = [s for s in samples if idle[0] <= s[0] <= idle[1]]
    run = [s for s in samples if window[0] <= s[0] <= window[1]]
    full = [s for s in run if active_at(spans, s[0]) == calls]  # every call up at once
    cpu_fit = linear_fit([float(active_at(spans, s[0])) for s in run], [s[1] for s in run])
    rss_idle = idle_samples[-1][2] if idle_samples else (run[0][2] if run else None)
    return {
        "cpu_percent_idle": _mean([s[1] for s in idle_samples]),
        "cpu_percent_mean": _mean([s[1] for s in full or run]),
        "cpu_percent_max": max((s[1] for s in run), default=None),
        "cpu_percent_per_call": round(cpu_fit[0], 3) if cpu_fit else None,
        "rss_idle_mib": rss_idle,
        "rss_peak_mib": max((s[2] for s in run), default=None),
        "rss_per_call_mib": rss_per_call_mib([(s[0], s[2]) for s in run], spans),
        "samples": [[round(t - window[0], 2), cpu, rss, active_at(spans, t)]
                    for t, cpu, rss in samples if t >= idle[0]],
    }


def other_figures(others: Sequence[tuple[float, float | None, float, float, float]],
                  window: tuple[float, float], spans: list[tuple[float, float]],
                  calls: int) -> dict[str, Any]:
    """Mean CPU of the sim servers, the callers and the machine while every call was up."""
    run = [o for o in others if window[0] <= o[0] <= window[1]]
    full = [o for o in run if active_at(spans, o[0]) == calls] or run
    return {
        "sim_cpu_percent": _mean([o[1] for o in full if o[1] is not None]),
        "callers_cpu_percent": _mean([o[2] for o in full]),
        "machine_cpu_percent": _mean([o[3] for o in full]),  # of all cores
        "load_avg_1min": _mean([o[4] for o in full]),
    }


def sweep_figures(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Across a sweep: memory and CPU per call from the steps' peaks and means."""
    ok = [s for s in steps if s["worker"]["rss_peak_mib"] is not None]
    fit_rss = linear_fit([s["calls"] for s in ok], [s["worker"]["rss_peak_mib"] for s in ok])
    fit_cpu = linear_fit([s["calls"] for s in ok], [s["worker"]["cpu_percent_mean"] or 0
                                                     for s in ok])
    return {
        "rss_peak_per_call_mib": round(fit_rss[0], 3) if fit_rss else None,
        "cpu_percent_per_call": round(fit_cpu[0], 3) if fit_cpu else None,
    }


def _call_detail(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("transport", "setup_ms", "gaps", "gap_ms", "gaps_into_answer_ms", "agent_ticks",
            "inbound_lost", "error")
    detail = {k: result.get(k) for k in keep if k in result}
    detail["voice_to_voice_ms"] = [t["voice_to_voice_ms"] for t in result["turns"]]
    detail["voice_to_media_ms"] = [t.get("voice_to_media_ms") for t in result["turns"]]
    detail["lines"] = [t["line"] for t in result["turns"]]
    return detail


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts
