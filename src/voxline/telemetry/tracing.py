"""Traces (OpenTelemetry): a span per call, per turn, and per endpoint/STT/LLM/TTS request.

Spans are built from the call clock's stamps when a turn ends, not timed around the requests:
their edges are the same instants the latency figures come from, so a trace and the metrics
never disagree, and nothing runs on the audio path. Attributes carry the latency names
(`llm_first_token_ms`...). Off by default; with no OTLP endpoint configured this module is not
even imported.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

# (span, first stamp, last stamps in order of preference, latency attributes, provider kind)
_REQUESTS = (
    ("endpoint", "speech_end", ("endpoint",), ("endpoint_delay_ms",), "vad"),
    ("stt", "stt_request", ("stt_final",), ("stt_latency_ms", "stt_compute_ms"), "stt"),
    ("llm", "llm_request", ("llm_done", "llm_first_token"),
     ("llm_first_token_ms", "first_clause_ms"), "llm"),
    ("tts", "tts_request", ("tts_done", "tts_first_chunk"), ("tts_first_chunk_ms",), "tts"),
)


def otlp_tracer_provider(endpoint: str, service_name: str) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


class CallTrace:
    """The spans of one call. `origin_ns` is the wall-clock instant of the call clock's zero,
    so a stamp of `ms` since the call started lies at origin_ns + ms * 1e6."""

    def __init__(
        self,
        provider: TracerProvider,
        call_id: str,
        transport: str,
        providers: Mapping[str, str],
        origin_ns: int,
    ) -> None:
        self._tracer = provider.get_tracer("voxline")
        self._providers = providers
        self._origin_ns = origin_ns
        self._span: Span = self._tracer.start_span(
            "voxline.call",
            start_time=time.time_ns(),
            attributes={
                "voxline.call_id": call_id,
                "voxline.transport": transport,
                **{f"voxline.provider.{k}": v for k, v in providers.items()},
            },
        )
        self._context = trace.set_span_in_context(self._span)

    def _at(self, ms: float) -> int:
        return self._origin_ns + int(ms * 1_000_000)

    def turn(self, record: Mapping[str, Any]) -> None:
        stamps: Mapping[str, float] = record.get("stamps_ms") or {}
        if not stamps:
            return
        latency = {k: v for k, v in (record.get("latency") or {}).items() if v is not None}
        start = stamps.get("speech_start", min(stamps.values()))
        turn = self._tracer.start_span(
            "voxline.turn",
            context=self._context,
            start_time=self._at(start),
            attributes={
                "voxline.turn_index": record["index"],
                "voxline.outcome": record["outcome"],
                "voxline.barge_in": bool(record.get("interrupted")),
                **({"stt_confidence": c} if (c := record.get("stt_confidence")) is not None else {}),
                **latency,
            },
        )
        if record["outcome"] == "error":
            turn.set_status(Status(StatusCode.ERROR, str(record.get("error") or "")))
        inside = trace.set_span_in_context(turn)
        for name, first, lasts, figures, kind in _REQUESTS:
            last = next((stamps[m] for m in lasts if m in stamps), None)
            if first not in stamps or last is None:
                continue
            attributes = {k: latency[k] for k in figures if k in latency}
            span = self._tracer.start_span(
                f"voxline.{name}",
                context=inside,
                start_time=self._at(stamps[first]),
                attributes={"voxline.provider": self._providers[kind], **attributes},
            )
            span.end(end_time=self._at(max(last, stamps[first])))
        for tool in record.get("tool_calls") or []:
            turn.add_event("tool_call", {"name": tool["name"]})  # arguments hold PII
        turn.end(end_time=self._at(max(stamps.values())))

    def event(self, name: str, attributes: Mapping[str, Any]) -> None:
        self._span.add_event(name, {k: v for k, v in attributes.items() if v is not None})

    def end(self, outcome: str, error: str | None) -> None:
        self._span.set_attribute("voxline.outcome", outcome)
        if error:
            self._span.set_status(Status(StatusCode.ERROR, error))
        self._span.end(end_time=time.time_ns())
