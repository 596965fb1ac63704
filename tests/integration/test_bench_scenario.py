"""`voxline bench` end to end: a 2-call cloud-sim Twilio scenario in real processes (sim
servers, a `voxline serve` worker, a caller process), and what it leaves in --out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCENARIO = """
transport = "twilio"
profile = "cloud-sim"
calls = 2
ramp_s = 0.5
duration_s = 1
settle_s = 1

[script]
lines = ["hours", "whitening"]
pause_s = 0.3
"""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_a_two_call_twilio_scenario_writes_sane_results(tmp_path: Path) -> None:
    scenario = tmp_path / "two-calls.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "voxline.cli", "bench", str(scenario), "--out", str(out)],
        capture_output=True, text=True, timeout=420,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((out / "results.json").read_text())
    assert results["scenario"]["name"] == "two-calls"
    (step,) = results["steps"]
    assert step["placed"] == 2 and step["failed"] == 0, step.get("errors")
    assert step["turns"] == 4 and step["answered"] == 4  # each call says both lines
    v2v, own = step["latency_ms"]["voice_to_voice_ms"], step["latency_ms"]["overhead_ms"]
    # The 600 ms window plus the VAD's tail are the floor; an answer takes far less than 3 s.
    assert 600 < v2v["p50"] < 3000
    # Timed exactly: every turn matched to the worker's record by CallSid and audio position.
    assert step["overhead_method"] == "exact" and step["overhead_timed_turns"] == 4
    assert own["count"] == 4 and 0 < own["p50"] < 2000
    # The estimate's floor is the VAD tail it subtracts; both see the same turns.
    assert step["latency_ms"]["overhead_estimate_ms"]["count"] == 4
    assert step["gaps"] is not None  # measured (how many is the benchmark's business)
    # The worker's own records: the two measured calls' turns, the warm-up call left out.
    assert step["server_turns"] >= 4
    assert step["latency_ms"]["endpoint_delay_ms"]["p50"] == 600.0
    assert step["latency_ms"]["llm_first_token_ms"]["p50"] >= 200  # the injected delay
    worker = step["worker"]
    assert 50 < worker["rss_peak_mib"] < 2048
    assert worker["cpu_percent_mean"] is not None and worker["samples"]

    summary = (out / "summary.md").read_text()
    assert "# Benchmark: two-calls" in summary and "| 2 | 0 | 4 |" in summary
    for name in ("latency_cdf.png", "latency_cpu_vs_calls.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name


def test_a_bad_scenario_fails_before_starting_anything(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('transport = "fax"\ncalls = 1\n[script]\nlines = ["hours"]\n')
    done = subprocess.run(
        [sys.executable, "-m", "voxline.cli", "bench", str(scenario), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "bad.toml: transport: Input should be 'twilio', 'webrtc' or 'sip'" in done.stderr
    assert not (tmp_path / "results.json").exists()
