"""A real call through the file transport, observed: metrics, records, logs and traces.

The embedded models answer two caller lines; afterwards the histograms have moved under the
right labels, the database holds every turn with ordered stamps, every log line of the call
carries its call_id, and the trace has a span per call, turn and request.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from sqlalchemy import select

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.config import RecordsSettings
from voxline.session.call import Call
from voxline.session.clock import Mark
from voxline.session.latency import LATENCY_NAMES
from voxline.talk import talk
from voxline.telemetry.hub import Telemetry
from voxline.telemetry.records.schema import calls, events, turns
from voxline.testing.log_context import json_log_lines

pytestmark = pytest.mark.models

# The order a fully answered turn's stamps must be in.
ORDER = [Mark.SPEECH_START, Mark.SPEECH_END, Mark.STT_REQUEST, Mark.STT_FINAL, Mark.LLM_REQUEST,
         Mark.LLM_FIRST_TOKEN, Mark.TTS_FIRST_CHUNK, Mark.FIRST_AUDIO_OUT, Mark.LAST_AUDIO_OUT]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def traced(settings, tmp_path):
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    local = settings.model_copy(update={
        "records_dir": tmp_path, "records": RecordsSettings(retry_s=0.2),
    })
    telemetry = Telemetry.from_settings(local, tracer_provider=tracer_provider)
    telemetry.start()
    yield telemetry, exporter
    telemetry.close()


@pytest.fixture
def log_lines():
    """Every log line while the test runs, rendered as voxline renders them (JSON)."""
    with json_log_lines("INFO") as buffer:
        yield buffer


async def test_a_file_call_explains_itself(providers, settings, caller_wavs, traced, log_lines):
    telemetry, exporter = traced
    await providers.warm(CLINIC_SYSTEM_PROMPT)
    stt, llm, tts = providers.stt.name, providers.llm.name, providers.tts.name
    stack = f"{stt}+{llm}+{tts}"
    before = {
        "turn": sample("voxline_turn_latency_ms_count", transport="file", provider=stack),
        "llm": sample("voxline_llm_first_token_ms_count", transport="file", provider=llm),
        "stt": sample("voxline_stt_latency_ms_count", transport="file", provider=stt),
        "tts": sample("voxline_tts_first_chunk_ms_count", transport="file", provider=tts),
        "calls": sample("voxline_calls_total", transport="file", outcome="answered"),
        "active": sample("voxline_active_calls", transport="file"),
    }
    logging.getLogger("voxline.test").info("before the call")  # a line outside the call

    call = Call(providers, settings, transport="file", caller="+15551234567")
    # Real-time pace: in fast mode audio time outruns the clock, and back-dated stamps with it.
    result = await talk(providers, settings, [caller_wavs["hours"], caller_wavs["cleaning"]],
                        call=call)
    spoken = [r for r in result.records if r.latency.get("turn_latency_ms") is not None]
    assert len(spoken) >= 2, [r.to_dict() for r in result.records]

    # -- metrics: moved by exactly this call's turns, under transport and provider labels --
    assert sample("voxline_turn_latency_ms_count", transport="file", provider=stack) \
        == before["turn"] + len(spoken)
    llm_turns = [r for r in result.records if r.latency.get("llm_first_token_ms") is not None]
    assert sample("voxline_llm_first_token_ms_count", transport="file", provider=llm) \
        == before["llm"] + len(llm_turns)
    assert sample("voxline_stt_latency_ms_count", transport="file", provider=stt) > before["stt"]
    assert sample("voxline_tts_first_chunk_ms_count", transport="file", provider=tts) \
        > before["tts"]
    assert sample("voxline_calls_total", transport="file", outcome="answered") \
        == before["calls"] + 1
    assert sample("voxline_active_calls", transport="file") == before["active"]
    # No series is labelled by call.
    for metric in REGISTRY.collect():
        for s in metric.samples:
            assert result.call_id not in s.labels.values(), s

    # -- records: every turn, its figures, its stamps in order --
    assert telemetry.recorder.writer.drain(30)
    with telemetry.recorder.reader().connect() as db:
        row = db.execute(select(calls).where(calls.c.call_id == result.call_id)).one()
        rows = db.execute(select(turns).where(turns.c.call_id == result.call_id)
                          .order_by(turns.c.turn_index)).all()
    assert row.transport == "file" and row.outcome == "answered"
    assert row.caller == "********4567"
    assert row.turn_count == len(result.records) == len(rows)
    assert row.started_at <= row.ended_at
    assert (row.stt_provider, row.llm_provider, row.tts_provider) == (stt, llm, tts)
    for record, db_turn in zip(result.records, rows):
        assert db_turn.turn_index == record.index and db_turn.outcome == record.outcome
        for name in LATENCY_NAMES:
            assert getattr(db_turn, name) == record.latency[name]
        assert db_turn.stt_confidence == record.stt_confidence
        assert db_turn.transcript and db_turn.started_ms < db_turn.ended_ms
        if record.outcome == "answered":
            times = [db_turn.stamps_ms[m.value] for m in ORDER]
            assert times == sorted(times), db_turn.stamps_ms
    starts = [t.started_ms for t in rows]
    assert starts == sorted(starts)
    over = {f"over_budget:{n}" for n, budget in settings.telemetry.budgets_ms.items()
            if any((r.latency.get(n) or 0) > budget for r in result.records)}
    assert set(row.flags) == over and row.flagged == bool(over)

    # -- logs: every line of the call names it --
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    during = [line for line in lines if line.get("logger") != "voxline.test"]
    assert any(line["event"].startswith("call started") for line in during)
    assert sum(line["event"].startswith("turn ") for line in during) == len(result.records)
    assert any(line["event"].startswith("call ended") for line in during)
    for line in during:
        assert line.get("call_id") == result.call_id, line
    assert "call_id" not in next(x for x in lines if x.get("logger") == "voxline.test")
    # The caller's number is nowhere in the logs, whole or in part ("555" alone also turns up
    # inside a random call id).
    assert not {"15551234567", "5551234567", "1234567"} & set(
        re.findall(r"\d+", log_lines.getvalue()))

    # -- traces: call > turns > endpoint/stt/llm/tts, latency names as attributes --
    spans = exporter.get_finished_spans()
    (call_span,) = [s for s in spans if s.name == "voxline.call"]
    assert call_span.attributes["voxline.call_id"] == result.call_id
    turn_spans = [s for s in spans if s.name == "voxline.turn"]
    assert len(turn_spans) == len(result.records)
    assert all(s.parent.span_id == call_span.context.span_id for s in turn_spans)
    for record, turn_span in zip(result.records, turn_spans):
        assert turn_span.attributes["voxline.turn_index"] == record.index
        assert turn_span.start_time >= call_span.start_time
        assert turn_span.end_time <= call_span.end_time
        children = {s.name: s for s in spans
                    if s.parent is not None and s.parent.span_id == turn_span.context.span_id}
        if record.outcome == "answered":
            assert {"voxline.endpoint", "voxline.stt", "voxline.llm", "voxline.tts"} \
                <= children.keys()
            llm_span = children["voxline.llm"]
            assert llm_span.attributes["llm_first_token_ms"] == \
                record.latency["llm_first_token_ms"]
            assert llm_span.attributes["voxline.provider"] == llm
            assert children["voxline.tts"].attributes["tts_first_chunk_ms"] == \
                record.latency["tts_first_chunk_ms"]
            # A span lasts as long as the stamps say (ns, from ms rounded to 1 µs).
            width_ms = (llm_span.end_time - llm_span.start_time) / 1e6
            stamps = record.stamps_ms
            assert width_ms == pytest.approx(stamps["llm_done"] - stamps["llm_request"],
                                             abs=0.01)

    with telemetry.recorder.reader().connect() as db:
        kinds = db.execute(select(events.c.kind).where(events.c.call_id == result.call_id)).all()
    assert all(kind in {"barge_in", "error", "dtmf", "reconnect"} for (kind,) in kinds)
