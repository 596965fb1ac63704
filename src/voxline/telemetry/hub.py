"""Telemetry for a worker process: metrics, call records, traces, and the observer it hangs
on every Call.

    telemetry = Telemetry.from_settings(settings)
    telemetry.start()      # the record writer thread; every Call from now on is observed
    ...
    telemetry.close()      # writes what is queued (the rest waits in the spool)

Each part is optional: records off (RecordsSettings.enabled), metrics off
(TelemetrySettings.metrics), tracing off unless an OTLP endpoint is set or a tracer provider
is handed in (tests hand in one with an in-memory exporter).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from voxline.config import Settings
from voxline.session.call import Call, watch_calls
from voxline.telemetry.call_observer import CallObserver
from voxline.telemetry.metrics import Metrics, default_metrics
from voxline.telemetry.provider_counters import ProviderCounters
from voxline.telemetry.records import ops
from voxline.telemetry.records.recorder import Recorder

log = logging.getLogger(__name__)

KNOWN_CALLS = 10_000  # ended calls whose late transport events are still recorded


class Telemetry:
    observer_class: type[CallObserver] = CallObserver  # a benchmark times a subclass

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: Metrics | None = None,
        recorder: Recorder | None = None,
        tracer_provider: Any = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.recorder = recorder
        self.tracer_provider = tracer_provider
        self.budgets_ms: Mapping[str, float] = settings.telemetry.budgets_ms
        self.stt_reconnections_flag = settings.telemetry.stt_reconnections_flag
        self.live: dict[str, CallObserver] = {}
        self._known: OrderedDict[str, None] = OrderedDict()
        self._counters = ProviderCounters(metrics) if metrics is not None else None
        if tracer_provider is not None:
            import voxline.telemetry.tracing  # noqa: F401 - imported now, not in a call's turn
        self._unwatch: Callable[[], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, tracer_provider: Any = None) -> Telemetry:
        t = settings.telemetry
        if tracer_provider is None and t.otlp_endpoint:
            from voxline.telemetry.tracing import otlp_tracer_provider

            tracer_provider = otlp_tracer_provider(t.otlp_endpoint, t.service_name)
        metrics = default_metrics() if t.metrics else None
        recorder = None
        if settings.records.enabled:
            count = (lambda result, n: metrics.record_ops.labels(result).inc(n)) if metrics else None
            recorder = Recorder.from_settings(settings, on_result=count)
        return cls(settings, metrics=metrics, recorder=recorder, tracer_provider=tracer_provider)

    def start(self) -> None:
        if self.recorder is not None:
            self.recorder.start()
        self._unwatch = watch_calls(self.attach)

    def close(self, timeout: float = 10.0) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self.recorder is not None:
            self.recorder.close(timeout)
        if self.tracer_provider is not None and hasattr(self.tracer_provider, "force_flush"):
            self.tracer_provider.force_flush()
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ and self.metrics is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # its live gauges stop counting

    # -- calls ------------------------------------------------------------------------------------

    def attach(self, call: Call) -> None:
        observer = self.observer_class(self, call)
        call.observe(observer)
        self.live[call.call_id] = observer
        self._known[call.call_id] = None
        while len(self._known) > KNOWN_CALLS:
            self._known.popitem(last=False)

    def forget(self, call_id: str) -> None:
        self.live.pop(call_id, None)

    def sync_provider_counters(self, providers: Any) -> None:
        if self._counters is not None:
            self._counters.sync(providers)

    # -- transport events (ICE) ---------------------------------------------------------------------

    def ice_transition(self, call_id: str, side: str, machine: str, previous: str, state: str):
        if self.metrics is not None:
            self.metrics.ice_transitions.labels(side, machine, state).inc()
        self._transport_event(call_id, "ice", {
            "side": side, "machine": machine, "from": previous, "to": state,
        })

    def ice_failed(self, call_id: str, reason: str) -> None:
        self._transport_event(call_id, "ice_failed", {"reason": reason})
        if call_id not in self.live and call_id in self._known and self.recorder is not None:
            self.recorder.submit(ops.add_flags(call_id, ["ice_failed"]))

    def transport_ended(self, call_id: str, reason: str) -> None:
        """The transport's own word on why the call ended (arrives after the engine's)."""
        if self.recorder is not None and call_id in self._known:
            flags = ["ice_failed"] if reason.startswith("ice_failed") else []
            self.recorder.submit(ops.add_flags(call_id, flags, end_reason=reason[:300]))

    def transport_event(self, call_id: str, kind: str, data: dict[str, Any]) -> None:
        """A transport's own account of the call for its records (SIP: inbound audio)."""
        self._transport_event(call_id, kind, data)

    def _transport_event(self, call_id: str, kind: str, data: dict[str, Any]) -> None:
        observer = self.live.get(call_id)
        if observer is not None:
            observer.transport_event(kind, data)
        elif self.recorder is not None and call_id in self._known:
            now = datetime.now(UTC)
            self.recorder.submit(ops.event_row(call_id, kind, now, None, data))
