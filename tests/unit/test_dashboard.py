"""The /calls dashboard over records in SQLite: flagged calls first, percentiles against
budgets, a call's redacted transcript and per-turn waterfalls."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from voxline.server.dashboard import Dashboard
from voxline.server.dashboard_svg import waterfall_svg
from voxline.telemetry.records import migrate, ops
from voxline.telemetry.records.queries import percentile
from voxline.telemetry.records.recorder import Recorder
from voxline.telemetry.records.redaction import redact_text
from voxline.telemetry.records.store import apply_ops

BUDGETS = {"stt_latency_ms": 120.0, "llm_first_token_ms": 250.0, "turn_latency_ms": 800.0}


def turn(index: int, turn_ms: float, **extra) -> dict:
    return {
        "index": index, "outcome": "answered", "transcript": "my number is 555 010 9999",
        "reply": "Thanks, noted.", "heard": "Thanks, noted.", "stt_confidence": 0.8,
        "latency": {"turn_latency_ms": turn_ms, "stt_latency_ms": 90.0,
                    "llm_first_token_ms": 200.0 + index, "endpoint_delay_ms": 900.0},
        "stamps_ms": {"speech_start": index * 5000.0, "speech_end": index * 5000.0 + 800},
        "waterfall": [["endpoint", 0.0, 900.0], ["stt", 20.0, 400.0],
                      ["llm first token", 400.0, 620.0], ["tts first chunk", 700.0, 800.0],
                      ["first audio out", 800.0, 903.0]],
        **extra,
    }


@pytest.fixture
def client(tmp_path):
    recorder = Recorder(f"sqlite:///{tmp_path / 'r.sqlite'}", tmp_path / "spool.jsonl")
    engine = recorder.reader()
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as db:
        for n, (call_id, flags, started) in enumerate([
            ("calm", [], now - timedelta(minutes=1)),
            ("slow", ["over_budget:turn_latency_ms"], now - timedelta(minutes=30)),
            ("ancient", ["ice_failed"], now - timedelta(days=3)),
        ]):
            apply_ops(db, [ops.call_row(call_id, "webrtc", started, caller="+15550101234",
                                        ended_at=started, outcome="answered", turn_count=2,
                                        stt_reconnections=0, flags=flags)])
            apply_ops(db, [ops.turn_row(call_id, turn(i, 300.0 + 600 * n * i), redact_text)
                           for i in range(2)])
        apply_ops(db, [
            ops.turn_row("calm", turn(2, 500.0, interrupted=True, outcome="interrupted",
                                      reply="Thanks, noted. Anything else?",
                                      heard="Thanks, noted.", voice_to_voice_ms=1250.0),
                         redact_text),
            ops.event_row("calm", "barge_in", now, 10500.0, {"dropped_frames": 4}),
        ])
    app = Starlette(routes=Dashboard(lambda: recorder, BUDGETS).routes())
    with TestClient(app) as test_client:
        yield test_client
    recorder.close()


def test_calls_lists_flagged_first_within_the_window(client):
    page = client.get("/calls").text
    links = re.findall(r'href="/calls/(\w+)"', page)
    assert links == ["slow", "calm"]  # flagged first; "ancient" is outside 24 h
    assert 'class="percentiles"' in page and page.count('class="spark"') == 2
    assert "1 flagged for review" in page
    week = client.get("/calls?window=7d").text
    assert re.findall(r'href="/calls/(\w+)"', week)[:2] == ["slow", "ancient"]


def test_percentiles_are_over_the_window(client):
    page = client.get("/calls").text
    # turn latency over calm (300, 300, 500) and slow (300, 900): p50 300, p95 900.
    assert "turn_latency p95 900 ms" in page and "turn_latency p50 300 ms" in page
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([], 95) is None


def test_a_call_page_shows_redacted_words_and_a_waterfall_per_turn(client):
    page = client.get("/calls/calm").text
    assert page.count('class="waterfall"') == 3
    assert "[NUMBER]" in page and "555" not in page
    assert '<span class="cut"> Anything else?</span>' in page  # what the caller did not hear
    assert "voice-to-voice 1250 ms" in page
    assert "barge_in" in page and "dropped_frames=4" in page
    assert client.get("/calls/nope").status_code == 404


def test_waterfall_bars_sit_where_their_stamps_say():
    svg = waterfall_svg([["endpoint", 0.0, 900.0], ["stt", 450.0, 900.0]], width=730)
    bars = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    (x0, w0), (x1, w1) = [(float(a), float(b)) for a, b in bars]
    assert x1 == pytest.approx(x0 + w0 / 2, abs=0.2) and w1 == pytest.approx(w0 / 2, abs=0.2)


def test_an_unreadable_database_gives_503_not_a_crash(tmp_path):
    recorder = Recorder(f"sqlite:///{tmp_path / 'empty.sqlite'}", tmp_path / "spool.jsonl")
    app = Starlette(routes=Dashboard(lambda: recorder, BUDGETS).routes())
    with TestClient(app) as test_client:  # no migration ran: there are no tables
        for path in ("/calls", "/calls/abc"):
            response = test_client.get(path)
            assert response.status_code == 503 and "cannot be read" in response.text
    recorder.close()
