"""What a run leaves in its --out directory: results.json, summary.md and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COMPONENTS = ("voice_to_voice_ms", "overhead_ms", "endpoint_delay_ms", "stt_latency_ms",
              "llm_first_token_ms", "tts_first_chunk_ms", "turn_latency_ms")


def write_outputs(results: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "results.json", out_dir / "summary.md"]
    written[0].write_text(json.dumps(results, indent=1))
    written[1].write_text(summary_markdown(results))
    written += plot(results, out_dir)
    return written


def _overhead_text(results: dict[str, Any]) -> list[str]:
    first = results["steps"][0]
    if first.get("overhead_method") == "exact":
        return [
            "overhead (exact) = first agent audio received − when the caller sent the frame "
            "that completed the endpoint (the worker's record says at which inbound position "
            "it decided) − provider time left after the endpoint (none when the answer was "
            "ready: `answers ready`). See bench/scenario/exact_overhead.py.",
        ]
    return [
        "overhead (estimated) = voice-to-first-agent-audio (any level: the TTS voice's own quiet "
        "lead-in, `tts_lead_ms`, left out) + 20 ms (the caller stamps a frame at its start, a "
        "phone at its end) − endpoint window − the worker VAD's tail on the line "
        f"({first['vad_tail_ms']} ms); provider time is hidden inside the window "
        "by speculative turns (`answers ready`: first TTS audio back before the endpoint).",
    ]


def summary_markdown(results: dict[str, Any]) -> str:
    scenario = results["scenario"]
    lines = [
        f"# Benchmark: {scenario['name']}",
        "",
        f"{scenario['transport']} transport, {scenario['profile']} profile, "
        f"endpoint window {scenario['worker']['endpoint_ms']} ms, VAD {scenario['worker']['vad']}, "
        f"{scenario['caller_processes']} caller process(es), ramp {scenario['ramp_s']:g} s, "
        f"{scenario['duration_s']:g} s per call, script {', '.join(scenario['script']['lines'])}. "
        f"Machine: {results['machine']['cpus']} CPUs.",
        "",
        *_overhead_text(results),
        "",
        "| calls | failed | turns | v2v p50 / p95 / p99 | overhead p50 / p95 / p99 | gaps | "
        "answers ready | worker CPU % (mean) | CPU %/call | RSS idle → peak MiB | "
        "RSS MiB/call | load before → after |",
        "|---:|---:|---:|---|---|---:|---|---:|---:|---|---:|---|",
    ]
    for step in results["steps"]:
        v, o, w = step["latency_ms"]["voice_to_voice_ms"], step["latency_ms"]["overhead_ms"], \
            step["worker"]
        lines.append(
            f"| {step['calls']} | {step['failed']} | {step['turns']} | "
            f"{_p(v)} | {_p(o)} | {step['gaps']} | {step['answers_ready_before_endpoint']} | "
            f"{w['cpu_percent_mean']} | {w['cpu_percent_per_call']} | "
            f"{w['rss_idle_mib']} → {w['rss_peak_mib']} | {w['rss_per_call_mib']} | "
            f"{step['load_avg_before'][0]} → {step['load_avg_after'][0]} |"
        )
    lines += ["", "While every call was up, mean CPU (% of one core; the machine's of all cores):",
              "", "| calls | worker | sim servers | callers | machine | load (1 min) |",
              "|---:|---:|---:|---:|---:|---:|"]
    for step in results["steps"]:
        o = step.get("others", {})
        lines.append(f"| {step['calls']} | {step['worker']['cpu_percent_mean']} | "
                     f"{o.get('sim_cpu_percent')} | {o.get('callers_cpu_percent')} | "
                     f"{o.get('machine_cpu_percent')} | {o.get('load_avg_1min')} |")
    if "sweep" in results:
        sweep = results["sweep"]
        lines += ["", f"Across the sweep: peak RSS grows {sweep['rss_peak_per_call_mib']} MiB "
                      f"per call, mean worker CPU {sweep['cpu_percent_per_call']} % of a core "
                      "per call (least-squares slopes)."]
    lines += ["", "Server-side components (the worker's call records), ms:", "",
              "| calls | component | p50 | p95 | p99 | n |", "|---:|---|---:|---:|---:|---:|"]
    for step in results["steps"]:
        for name in COMPONENTS[2:]:
            f = step["latency_ms"][name]
            lines.append(f"| {step['calls']} | `{name}` | {f['p50']} | {f['p95']} | {f['p99']} "
                         f"| {f['count']} |")
    errors = [e for step in results["steps"] for e in step["errors"]]
    if errors:
        lines += ["", "Errors seen by callers:", ""] + [f"- {e}" for e in sorted(set(errors))]
    return "\n".join(lines) + "\n"


def _p(figure: dict[str, Any]) -> str:
    return f"{figure['p50']} / {figure['p95']} / {figure['p99']}"


def plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    written = []
    steps = results["steps"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, names, title in (
        (axes[0], ("voice_to_voice_ms",), "voice to voice (caller)"),
        (axes[1], ("overhead_ms", "turn_latency_ms", "stt_latency_ms"), "overhead and engine"),
    ):
        for step in steps:
            for name in names:
                values = _values(step, name)
                if values:
                    ys = [(i + 1) / len(values) for i in range(len(values))]
                    label = f"{name} ({step['calls']} calls)" if len(steps) > 1 else name
                    ax.step(values, ys, where="post", label=label)
        ax.set_title(f"{title}: CDF")
        ax.set_xlabel("ms")
        ax.set_ylabel("fraction of turns")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    written.append(out_dir / "latency_cdf.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    calls = [s["calls"] for s in steps]
    for name, style in (("overhead_ms", "-o"), ("voice_to_voice_ms", "--s")):
        for q in ("p50", "p95"):
            ax.plot(calls, [s["latency_ms"][name][q] for s in steps], style,
                    label=f"{name} {q}")
    ax.set_xlabel("concurrent calls")
    ax.set_ylabel("ms")
    ax.grid(alpha=0.3)
    cpu = ax.twinx()
    cpu.plot(calls, [s["worker"]["cpu_percent_mean"] for s in steps], ":^", color="black",
             label="worker CPU % (mean)")
    cpu.set_ylabel("worker CPU, % of one core")
    handles = ax.get_legend_handles_labels()
    extra = cpu.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], fontsize=7, loc="upper left")
    ax.set_title("latency and worker CPU vs concurrent calls")
    fig.tight_layout()
    written.append(out_dir / "latency_cpu_vs_calls.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    return written


def _values(step: dict[str, Any], name: str) -> list[float]:
    if name == "voice_to_voice_ms":
        return sorted(v for c in step["calls_detail"] for v in c["voice_to_voice_ms"]
                      if v is not None)
    if name == "overhead_ms":
        return sorted(v for v in step["overhead_per_turn_ms"] if v is not None)
    return sorted(step.get("server_values", {}).get(name, []))
