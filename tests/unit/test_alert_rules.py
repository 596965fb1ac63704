"""The shipped Prometheus rules: valid for promtool, behaving as their unit tests say, and
naming only metrics voxline exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from voxline.telemetry.metrics import Metrics

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
RULES = RULES_DIR / "voxline-rules.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool not found: install the Debian package prometheus (make debian)")
    return subprocess.run([binary, *args], cwd=RULES_DIR, capture_output=True, text=True,
                          check=False, timeout=60)


def test_promtool_checks_the_rules():
    done = promtool("check", "rules", RULES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_rule_unit_tests_pass():
    done = promtool("test", "rules", "voxline-rules.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_name_only_exported_metrics():
    registry = CollectorRegistry()
    Metrics(registry)
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",),
                "gauge": ("",)}
    exported = {family.name + suffix for family in registry.collect()
                for suffix in suffixes[family.type]}
    named = set(re.findall(r"\bvoxline_[a-z_]+", RULES.read_text()))
    assert named, "no voxline metric in the rules"
    assert named <= exported, named - exported
