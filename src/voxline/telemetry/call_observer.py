"""One call seen by telemetry: its events become metrics, record ops, log lines and spans.

The observer runs inside `Call._emit`, on the event loop, so it only does cheap things: a
histogram observation, a queue put, a span built from stamps. A fault here is logged and
swallowed: telemetry must never end a call.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from voxline.session.call import Call, CallEvent
from voxline.session.latency import relative_ms
from voxline.session.turn_log import TURNS_KEPT
from voxline.telemetry import flags as flag_rules
from voxline.telemetry.logs import bind_call
from voxline.telemetry.metrics import provider_labels
from voxline.telemetry.records import ops

if TYPE_CHECKING:
    from voxline.telemetry.hub import Telemetry

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _providers(call: Call) -> dict[str, str]:
    names = {k: getattr(getattr(call.providers, k), "name", k) for k in ("stt", "llm", "tts")}
    endpointing = call.settings.endpointing
    vad = names["stt"] if endpointing.source == "provider" else f"vad/{endpointing.vad}"
    return provider_labels(names["stt"], names["llm"], names["tts"], vad)


class CallObserver:
    def __init__(self, hub: Telemetry, call: Call) -> None:
        self.hub = hub
        self.call = call
        self.call_id = call.call_id
        self.transport = call.transport
        self.labels = _providers(call)
        self.started_at = _now()
        self.turn_flags: set[str] = set()  # every flag any turn raised (bounded: few names)
        self.outcomes: Counter[str] = Counter()
        self.ice_failed = False
        self._v2v_known: set[int] = set()  # turns whose voice-to-voice was already observed
        self.trace: Any = None  # tracing.CallTrace when tracing is on
        self._call_row: dict[str, Any] = {
            "caller": call.caller,
            "transport_ref": call.transport_ref,
            "providers": {k: self.labels[k] for k in ("stt", "llm", "tts")},
        }
        # The row exists before any event of the call can arrive (ICE may start before run).
        self._record(ops.call_row(self.call_id, self.transport, self.started_at,
                                  **self._call_row))

    def __call__(self, event: CallEvent) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is None:
            return
        try:
            handler(event)
        except Exception:
            log.exception("telemetry: the %s event of call %s was not observed", event.kind,
                          self.call_id)

    # -- the call's events ------------------------------------------------------------------

    def _on_call_started(self, event: CallEvent) -> None:
        # Emitted inside Call.run's task: what is bound here is on every line of this call.
        bind_call(self.call_id, self.transport)
        if self.hub.metrics is not None:
            self.hub.metrics.active_calls.labels(self.transport).inc()
        if self.hub.tracer_provider is not None:
            from voxline.telemetry.tracing import CallTrace

            since_zero = relative_ms({"now": event.at_ns or 0}, self.call.clock.started_ns)
            origin_ns = time.time_ns() - int(since_zero["now"] * 1_000_000)
            self.trace = CallTrace(self.hub.tracer_provider, self.call_id, self.transport,
                                   self.labels, origin_ns)
        log.info("call started: transport=%s stt=%s llm=%s tts=%s", self.transport,
                 self.labels["stt"], self.labels["llm"], self.labels["tts"])

    def _on_turn(self, event: CallEvent) -> None:
        record = event.data["record"]
        self.outcomes[record["outcome"]] += 1
        if record.get("voice_to_voice_ms") is not None:
            self._v2v_known.add(record["index"])
            if len(self._v2v_known) > TURNS_KEPT:
                # Only turns the call still holds are looked at again: forget the older ones.
                oldest = self.call.records.first_kept
                self._v2v_known = {i for i in self._v2v_known if i >= oldest}
        self.turn_flags |= flag_rules.turn_flags(record["latency"], self.hub.budgets_ms)
        if self.hub.metrics is not None:
            self.hub.metrics.observe_turn(self.transport, self.labels, record)
            self.hub.sync_provider_counters(self.call.providers)
        if self.hub.recorder is not None:
            self._record(ops.turn_row(self.call_id, record, self.hub.recorder.redact))
        if self.trace is not None:
            self.trace.turn(record)
        figures = " ".join(f"{k}={v:.0f}" for k, v in record["latency"].items() if v is not None)
        log.info("turn %d %s: %s", record["index"], record["outcome"], figures)

    def _on_barge_in(self, event: CallEvent) -> None:
        if self.hub.metrics is not None:
            self.hub.metrics.barge_ins.labels(self.transport).inc()
        self._event(event, "barge_in", {"dropped_frames": event.data.get("dropped_frames")})

    def _on_error(self, event: CallEvent) -> None:
        detail = {"stage": event.data.get("stage"), "error": str(event.data.get("error"))[:300]}
        self._event(event, "error", detail)

    def _on_dtmf(self, event: CallEvent) -> None:
        self._event(event, "dtmf", {})  # which key is the caller's business: not recorded

    def _on_call_ended(self, event: CallEvent) -> None:
        data = event.data
        reconnections = int(data.get("stt_reconnections") or 0)
        outcome = self._outcome(data.get("error"))
        flags = flag_rules.call_flags([self.turn_flags], reconnections,
                                      self.hub.stt_reconnections_flag, self.ice_failed)
        self._late_voice_to_voice()
        if reconnections:
            self._event(event, "reconnect", {"component": "stt", "count": reconnections,
                                             "provider": self.labels["stt"]})
        metrics = self.hub.metrics
        if metrics is not None:
            metrics.active_calls.labels(self.transport).dec()
            metrics.calls.labels(self.transport, outcome).inc()
            if reconnections:
                metrics.stt_reconnections.labels(self.transport, self.labels["stt"]).inc(
                    reconnections)
            for flag in flags:
                metrics.flagged_calls.labels(self.transport, flag).inc()
            self.hub.sync_provider_counters(self.call.providers)
        self._record(ops.call_row(
            self.call_id, self.transport, self.started_at, **self._call_row,
            ended_at=_now(), outcome=outcome, turn_count=sum(self.outcomes.values()),
            stt_reconnections=reconnections, flags=flags, error=data.get("error"),
        ))
        if self.trace is not None:
            self.trace.end(outcome, data.get("error"))
        self.hub.forget(self.call_id)
        log.info("call ended: outcome=%s turns=%d flags=%s", outcome,
                 sum(self.outcomes.values()), ",".join(flags) or "none")

    def _late_voice_to_voice(self) -> None:
        """Clients measure voice-to-voice after the turn is recorded (the browser page, the
        Twilio harness): what they reported during the call is added to metrics and rows."""
        for record in self.call.records:
            value = record.voice_to_voice_ms
            if value is None or record.index in self._v2v_known:
                continue
            self._v2v_known.add(record.index)
            if self.hub.metrics is not None:
                self.hub.metrics.observe_voice_to_voice(self.transport, self.labels, value)
            if self.hub.recorder is not None:
                self._record(ops.turn_row(self.call_id, record.to_dict(),
                                          self.hub.recorder.redact))

    def _outcome(self, error: str | None) -> str:
        if error:
            return "cancelled" if error.startswith("CancelledError") else "error"
        if self.outcomes["answered"] or self.outcomes["interrupted"]:
            return "answered"
        return "error" if self.outcomes["error"] else "no_speech"

    # -- the transport's events (WebRTC ICE) ------------------------------------------------------

    def transport_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "ice_failed":
            self.ice_failed = True
        at_ms = relative_ms({"now": self.call.clock.now_ns()}, self.call.clock.started_ns)["now"]
        self._record(ops.event_row(self.call_id, kind, _now(), at_ms, data))
        if self.trace is not None:
            self.trace.event(kind, data)

    # -- helpers ------------------------------------------------------------------------------------

    def _event(self, event: CallEvent, kind: str, data: dict[str, Any]) -> None:
        if self.trace is not None:
            self.trace.event(kind, data)
        if self.hub.recorder is None:
            return
        at_ms = None
        if event.at_ns is not None:
            at_ms = relative_ms({"at": event.at_ns}, self.call.clock.started_ns)["at"]
        self._record(ops.event_row(self.call_id, kind, _now(), at_ms, data))

    def _record(self, op: ops.Op) -> None:
        if self.hub.recorder is not None:
            self.hub.recorder.submit(op)
