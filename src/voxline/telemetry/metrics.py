"""The Prometheus metrics of a worker process.

Latency histograms are in milliseconds, named after DESIGN.md's vocabulary
(`voxline_turn_latency_ms`), labelled by transport and provider, never by call: a call id as a
label would make one time series per call. The provider label is the component's provider
(`local/whisper-tiny.en` for `stt_latency_ms`); figures that span the whole pipeline
(turn latency, voice-to-voice, barge-in stop) carry the stack, "stt+llm+tts".

Several workers: start each with PROMETHEUS_MULTIPROC_DIR set (before prometheus_client is
imported) and /metrics sums their files (metrics_endpoint.py); the active-calls gauge is a
live sum, so a worker that exits stops counting.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from voxline.session.latency import DETAIL_NAMES, LATENCY_NAMES

# Fine steps through 50-2,000 ms (human turn gaps ~200 ms, target p95 800 ms, callers give up
# near 1,500 ms), coarse beyond.
LATENCY_BUCKETS_MS = (
    10, 25, 50, 75, 100, 125, 150, 200, 250, 300, 350, 400, 500, 600, 700, 800,
    1000, 1250, 1500, 2000, 3000, 5000, 10000,
)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.0)
HISTOGRAM_NAMES = (*LATENCY_NAMES, *DETAIL_NAMES, "voice_to_voice_ms")

# Which provider a latency figure belongs to.
COMPONENT = {
    "endpoint_delay_ms": "vad",
    "stt_latency_ms": "stt",
    "stt_compute_ms": "stt",
    "llm_first_token_ms": "llm",
    "first_clause_ms": "llm",
    "tts_first_chunk_ms": "tts",
    "turn_latency_ms": "stack",
    "voice_to_voice_ms": "stack",
    "barge_in_stop_ms": "stack",
}


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self.registry = registry
        self.latency = {
            name: Histogram(
                f"voxline_{name}",
                f"{name} per turn (DESIGN.md latency vocabulary), milliseconds",
                ("transport", "provider"),
                buckets=LATENCY_BUCKETS_MS,
                registry=registry,
            )
            for name in HISTOGRAM_NAMES
        }
        self.stt_confidence = Histogram(
            "voxline_stt_confidence", "STT confidence of each final transcript (0-1)",
            ("transport", "provider"), buckets=CONFIDENCE_BUCKETS, registry=registry,
        )
        self.calls = Counter(
            "voxline_calls", "Calls ended, by transport and outcome",
            ("transport", "outcome"), registry=registry,
        )
        self.turns = Counter(
            "voxline_turns", "Turns recorded, by transport and outcome",
            ("transport", "outcome"), registry=registry,
        )
        self.active_calls = Gauge(
            "voxline_active_calls", "Calls in progress", ("transport",),
            multiprocess_mode="livesum", registry=registry,
        )
        self.ice_transitions = Counter(
            "voxline_ice_state_transitions",
            "WebRTC ICE and connection state changes (side: server or browser)",
            ("side", "machine", "state"), registry=registry,
        )
        self.stt_reconnections = Counter(
            "voxline_stt_reconnections", "STT streaming reconnections",
            ("transport", "provider"), registry=registry,
        )
        self.llm_errors = Counter(
            "voxline_llm_errors", "LLM request errors by class (429, 5xx, 4xx, timeout, ...), "
            "retried ones included", ("provider", "error_class"), registry=registry,
        )
        self.fallbacks = Counter(
            "voxline_fallback_switches", "Fallback chain switches from one provider to the next",
            ("kind", "from_provider", "to_provider"), registry=registry,
        )
        self.barge_ins = Counter(
            "voxline_barge_ins", "Caller speech over the agent's answer", ("transport",),
            registry=registry,
        )
        self.flagged_calls = Counter(
            "voxline_flagged_calls", "Calls flagged for review, by flag", ("transport", "flag"),
            registry=registry,
        )
        self.record_ops = Counter(
            "voxline_record_ops", "Call record operations by where they went "
            "(written, spooled while the database was down, replayed, rejected)", ("result",),
            registry=registry,
        )

    def observe_voice_to_voice(
        self, transport: str, providers: Mapping[str, str], value: float
    ) -> None:
        """A client's figure that arrived after its turn was recorded."""
        self.latency["voice_to_voice_ms"].labels(transport, providers["stack"]).observe(value)

    def observe_turn(
        self, transport: str, providers: Mapping[str, str], record: Mapping[str, object]
    ) -> None:
        latency = record.get("latency") or {}
        figures = {**latency, "voice_to_voice_ms": record.get("voice_to_voice_ms")}
        for name, histogram in self.latency.items():
            value = figures.get(name)
            if value is not None:
                provider = providers[COMPONENT[name]]
                histogram.labels(transport, provider).observe(float(value))
        confidence = record.get("stt_confidence")
        if confidence is not None:
            self.stt_confidence.labels(transport, providers["stt"]).observe(float(confidence))
        self.turns.labels(transport, str(record.get("outcome"))).inc()


_default: Metrics | None = None


def default_metrics() -> Metrics:
    """The process's metrics, in prometheus_client's default registry (created once)."""
    global _default
    if _default is None:
        _default = Metrics(REGISTRY)
    return _default


def provider_labels(stt: str, llm: str, tts: str, vad: str) -> dict[str, str]:
    return {"stt": stt, "llm": llm, "tts": tts, "vad": vad, "stack": f"{stt}+{llm}+{tts}"}
