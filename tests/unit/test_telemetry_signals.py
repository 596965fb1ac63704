"""Metrics, provider counters, call_id logs, spans from stamps, and multi-process /metrics."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
import os
import subprocess
import sys
import threading
from collections import Counter
from types import SimpleNamespace

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from voxline.telemetry.logs import bind_call, configure_logging, formatter
from voxline.telemetry.metrics import Metrics, provider_labels
from voxline.telemetry.metrics_endpoint import metrics_endpoint
from voxline.telemetry.provider_counters import ProviderCounters
from voxline.telemetry.tracing import CallTrace

LABELS = provider_labels("deepgram/nova-3", "groq/llama", "elevenlabs/flash", "vad/silero")


def test_a_turn_lands_in_histograms_by_transport_and_component_provider():
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    record = {"outcome": "answered", "stt_confidence": 0.93, "voice_to_voice_ms": 1400.0,
              "latency": {"stt_latency_ms": 95.0, "llm_first_token_ms": 310.0,
                          "tts_first_chunk_ms": None, "turn_latency_ms": 620.0}}
    metrics.observe_turn("twilio", LABELS, record)

    def value(name, **labels):
        return registry.get_sample_value(name, labels)

    assert value("voxline_stt_latency_ms_count", transport="twilio",
                 provider="deepgram/nova-3") == 1
    assert value("voxline_llm_first_token_ms_bucket", transport="twilio", provider="groq/llama",
                 le="300.0") == 0
    assert value("voxline_llm_first_token_ms_bucket", transport="twilio", provider="groq/llama",
                 le="350.0") == 1
    assert value("voxline_turn_latency_ms_sum", transport="twilio", provider=LABELS["stack"]) \
        == 620.0
    assert value("voxline_voice_to_voice_ms_count", transport="twilio",
                 provider=LABELS["stack"]) == 1
    assert value("voxline_tts_first_chunk_ms_count", transport="twilio",
                 provider="elevenlabs/flash") is None  # no figure, no observation
    assert value("voxline_stt_confidence_bucket", transport="twilio", provider="deepgram/nova-3",
                 le="0.95") == 1
    assert value("voxline_turns_total", transport="twilio", outcome="answered") == 1


def test_provider_counters_carry_only_what_changed():
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    groq = SimpleNamespace(name="groq/llama", error_counts=Counter({"429": 3}))
    local = SimpleNamespace(name="local/qwen")
    chain = SimpleNamespace(name="groq > local", members=[groq, local],
                            switches=Counter({"groq/llama>local/qwen": 1}))
    providers = SimpleNamespace(stt=SimpleNamespace(name="s"), llm=chain,
                                tts=SimpleNamespace(name="t"))
    counters = ProviderCounters(metrics)
    counters.sync(providers)
    counters.sync(providers)  # nothing new: nothing added
    groq.error_counts["429"] += 2
    groq.error_counts["5xx"] += 1
    counters.sync(providers)

    def value(name, **labels):
        return registry.get_sample_value(name, labels)

    assert value("voxline_llm_errors_total", provider="groq/llama", error_class="429") == 5
    assert value("voxline_llm_errors_total", provider="groq/llama", error_class="5xx") == 1
    assert value("voxline_fallback_switches_total", kind="llm", from_provider="groq/llama",
                  to_provider="local/qwen") == 1


async def test_call_id_is_on_the_lines_of_its_own_call_only():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter("json"))
    log = logging.getLogger("voxline.test.calls")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    async def a_call(call_id: str) -> None:
        bind_call(call_id, "file")
        log.info("engine line")

        async def provider_work() -> None:  # a task the call starts inherits its id
            await asyncio.sleep(0)
            log.warning("provider line")

        await asyncio.create_task(provider_work())

    try:
        await asyncio.gather(a_call("aaa"), a_call("bbb"))
        log.info("outside any call")
    finally:
        log.removeHandler(handler)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    by_call = Counter((line.get("call_id"), line["event"]) for line in lines)
    for call_id in ("aaa", "bbb"):
        assert by_call[(call_id, "engine line")] == 1 and by_call[(call_id, "provider line")] == 1
    outside = [line for line in lines if line["event"] == "outside any call"]
    assert "call_id" not in outside[0] and outside[0]["level"] == "info"


def test_spans_are_built_from_the_stamps():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    origin = 1_700_000_000_000_000_000
    trace = CallTrace(provider, "c1", "sip", LABELS, origin)
    stamps = {"speech_start": 100.0, "speech_end": 1100.0, "stt_request": 1110.0,
              "endpoint": 1400.0, "stt_final": 1300.0, "llm_request": 1300.0,
              "llm_first_token": 1520.5, "llm_done": 1900.0, "tts_request": 1600.0,
              "tts_first_chunk": 1680.0, "first_audio_out": 1700.0, "last_audio_out": 3000.0}
    trace.turn({"index": 0, "outcome": "answered", "stt_confidence": 0.0, "stamps_ms": stamps,
                "latency": {"llm_first_token_ms": 220.5, "tts_first_chunk_ms": 80.0,
                            "stt_latency_ms": 0.0, "turn_latency_ms": 300.0},
                "tool_calls": [{"name": "book", "arguments": "{\"name\": \"Ann\"}"}]})
    trace.end("answered", None)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"voxline.call", "voxline.turn", "voxline.endpoint", "voxline.stt",
                          "voxline.llm", "voxline.tts"}
    turn, llm = spans["voxline.turn"], spans["voxline.llm"]
    assert turn.start_time == origin + 100_000_000 and turn.end_time == origin + 3_000_000_000
    assert llm.start_time == origin + 1_300_000_000 and llm.end_time == origin + 1_900_000_000
    assert llm.parent.span_id == turn.context.span_id
    assert turn.parent.span_id == spans["voxline.call"].context.span_id
    assert llm.attributes["llm_first_token_ms"] == 220.5
    assert turn.attributes["stt_confidence"] == 0.0 and turn.attributes["turn_latency_ms"] == 300
    assert [e.attributes["name"] for e in turn.events] == ["book"]
    assert "Ann" not in str(turn.events[0].attributes)  # tool arguments hold personal data


WORKER = """
import os, sys
from prometheus_client import multiprocess
from voxline.telemetry.metrics import Metrics, provider_labels
m = Metrics()
m.calls.labels("webrtc", "answered").inc(int(sys.argv[1]))
m.active_calls.labels("webrtc").inc()
m.observe_turn("webrtc", provider_labels("s", "l", "t", "v"),
               {"outcome": "answered", "latency": {"turn_latency_ms": float(sys.argv[2])}})
if sys.argv[3] == "shut-down":  # what Telemetry.close does when a worker stops
    multiprocess.mark_process_dead(os.getpid())
"""


def test_metrics_from_several_worker_processes_add_up(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for calls, latency, end in ((2, 300, "shut-down"), (3, 900, "still-serving")):
        subprocess.run([sys.executable, "-c", WORKER, str(calls), str(latency), end], env=env,
                       check=True, timeout=60)
    reader = """
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from voxline.telemetry.metrics_endpoint import metrics_endpoint
app = Starlette(routes=[Route("/metrics", metrics_endpoint())])
print(TestClient(app).get("/metrics").text)
"""
    out = subprocess.run([sys.executable, "-c", reader], env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert 'voxline_calls_total{outcome="answered",transport="webrtc"} 5.0' in out
    assert 'voxline_turn_latency_ms_count{provider="s+l+t",transport="webrtc"} 2.0' in out
    assert 'voxline_turn_latency_ms_sum{provider="s+l+t",transport="webrtc"} 1200.0' in out
    # A live sum: the worker that shut down no longer counts its active call.
    assert 'voxline_active_calls{transport="webrtc"} 1.0' in out


def test_metrics_endpoint_syncs_then_serves_the_text_format():
    synced = []
    app = Starlette(routes=[Route("/metrics", metrics_endpoint(lambda: synced.append(1)))])
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200 and synced == [1]
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE" in response.text


async def test_console_format_for_development_is_readable_and_keeps_the_call_id():
    stream = io.StringIO()
    handler = configure_logging("console", "INFO", stream)
    try:
        async def a_call() -> None:
            bind_call("c7", "sip")
            logging.getLogger("voxline.test.console").warning("jitter buffer late by %d ms", 40)

        await asyncio.create_task(a_call())
        handler.flush()  # lines are written by a listener thread, off the event loop
    finally:
        logging.getLogger().removeHandler(handler)
        handler.stop()
    line = stream.getvalue().strip()
    assert "jitter buffer late by 40 ms" in line and "call_id=c7" in line
    assert not line.startswith("{")


def test_log_lines_survive_uvicorn_reconfiguring_logging_and_leave_no_threads():
    before = set(threading.enumerate())
    for _ in range(3):  # create_app runs once per app: the handler is replaced, not stacked
        configure_logging("json", "INFO", io.StringIO())
    stream = io.StringIO()
    handler = configure_logging("json", "INFO", stream)
    try:
        # What uvicorn does at start-up: dictConfig closes every handler it finds.
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        logging.getLogger("voxline.test.uvicorn").warning("still written")
        handler.flush()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.stop()
    assert json.loads(stream.getvalue().splitlines()[-1])["event"] == "still written"
    assert set(threading.enumerate()) - before == set()  # no listener thread left behind
