"""Tracing is off by default and then costs nothing (the SDK is not even imported); with an
OTLP endpoint configured, spans leave over OTLP/HTTP to it."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from voxline.config import Settings, TelemetrySettings
from voxline.telemetry.hub import Telemetry
from voxline.telemetry.metrics import provider_labels
from voxline.telemetry.tracing import CallTrace

OFF = """
import sys
from voxline.config import Settings
from voxline.telemetry.hub import Telemetry
telemetry = Telemetry.from_settings(Settings(records={"enabled": False}))
assert telemetry.tracer_provider is None
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


def test_tracing_off_imports_nothing_of_opentelemetry():
    out = subprocess.run([sys.executable, "-c", OFF], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_spans_are_exported_over_otlp_http_when_an_endpoint_is_set():
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
        settings = Settings(records={"enabled": False},
                            telemetry=TelemetrySettings(otlp_endpoint=endpoint,
                                                        service_name="clinic-line"))
        telemetry = Telemetry.from_settings(settings)
        trace = CallTrace(telemetry.tracer_provider, "c42", "twilio",
                          provider_labels("s", "l", "t", "v"), 1_700_000_000_000_000_000)
        trace.turn({"index": 0, "outcome": "answered",
                    "stamps_ms": {"speech_start": 0.0, "llm_request": 10.0, "llm_done": 90.0},
                    "latency": {"llm_first_token_ms": 42.0}})
        trace.end("answered", None)
        telemetry.close()  # flushes the batch processor
    finally:
        server.shutdown()
    assert _Collector.received, "nothing was exported"
    path, content_type, body = _Collector.received[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    resource = request.resource_spans[0]
    service = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert service["service.name"] == "clinic-line"
    names = {s.name for scope in resource.scope_spans for s in scope.spans}
    assert names == {"voxline.call", "voxline.turn", "voxline.llm"}
