"""The shipped Prometheus rules: valid for promtool, behaving as their unit tests say, and
naming only metrics voxline exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from voxline.session.latency import LATENCY_NAMES
from voxline.telemetry.metrics import Metrics

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
RULES = RULES_DIR / "voxline-rules.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool not found: install the Debian package prometheus (make debian)")
    return subprocess.run([binary, *args], cwd=RULES_DIR, capture_output=True, text=True,
                          check=False, timeout=60)


def exported_names() -> set[str]:
    """Every sample name voxline's metrics can expose."""
    registry = CollectorRegistry()
    Metrics(registry)
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",),
                "gauge": ("",)}
    return {family.name + suffix for family in registry.collect()
            for suffix in suffixes[family.type]}


def test_promtool_checks_the_rules():
    done = promtool("check", "rules", RULES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_rule_unit_tests_pass():
    done = promtool("test", "rules", "voxline-rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_name_only_exported_metrics():
    exported = exported_names()
    named = set(re.findall(r"\bvoxline_[a-z_]+", RULES.read_text()))
    assert named, "no voxline metric in the rules"
    assert named <= exported, named - exported


def test_grafana_dashboard_queries_only_exported_metrics():
    exported = exported_names()
    dashboard = json.loads((RULES_DIR.parent / "grafana" / "voxline.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = {n for e in exprs for n in re.findall(r"\bvoxline_[a-z_]+", e)}
    assert named <= exported, named - exported
    # Every latency name of DESIGN.md has a panel, and panel ids are unique.
    for name in LATENCY_NAMES:
        assert any(f"voxline_{name}_bucket" in e for e in exprs), name
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "transport"} <= variables
