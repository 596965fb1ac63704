"""Counters the providers keep themselves, carried into Prometheus.

The OpenAI-compatible client counts its errors by class (`error_counts`) and fallback chains
count their switches (`switches`); both are plain process-local Counters. `sync` adds what
changed since the last sync to the Prometheus counters, so they stay right in multi-process
mode (where a collector reading objects at scrape time would see one worker only). It runs
after every turn and call, and before each scrape.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from voxline.telemetry.metrics import Metrics


class ProviderCounters:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._seen: dict[tuple[int, str], int] = {}  # (id of the Counter, key) -> last value

    def sync(self, providers: Any) -> None:
        if providers is None:
            return
        for kind in ("stt", "llm", "tts"):
            provider = getattr(providers, kind, None)
            switches = getattr(provider, "switches", None)
            if isinstance(switches, Counter):
                for key, delta in self._deltas(switches):
                    src, _, dst = key.partition(">")
                    self._metrics.fallbacks.labels(kind, src, dst).inc(delta)
            for member in getattr(provider, "members", [provider]):
                errors = getattr(member, "error_counts", None)
                if kind == "llm" and isinstance(errors, Counter):
                    for error_class, delta in self._deltas(errors):
                        self._metrics.llm_errors.labels(member.name, error_class).inc(delta)

    def _deltas(self, counter: Counter[str]) -> list[tuple[str, int]]:
        out = []
        for key, value in list(counter.items()):
            slot = (id(counter), key)
            delta = value - self._seen.get(slot, 0)
            if delta > 0:
                out.append((key, delta))
                self._seen[slot] = value
        return out
