"""A real WebRTC call (aiortc caller) against `voxline serve`, then what the server tells about
it: /metrics, the call records with their ICE events, JSON log lines with the call's id, and the
/calls/{id} page with its waterfall, as headless Chromium draws it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from selenium.webdriver.common.by import By

from voxline.audio.frames import silence
from voxline.audio.wav import read_wav
from voxline.testing.chromium import chromium
from voxline.testing.png import read_png
from voxline.testing.serve_process import served
from voxline.testing.webrtc_client import ScriptedCaller

pytestmark = pytest.mark.models
STT_BLUE = (0x3B, 0x82, 0xF6)  # the waterfall's STT bar (dashboard_svg.STAGE_COLOURS)


@pytest.fixture(scope="module")
def records_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("records")


@pytest.fixture(scope="module")
def server(tmp_path_factory, records_dir):
    env = {"VOXLINE_RECORDS_DIR": str(records_dir), "VOXLINE_RECORDS__RETRY_S": "0.5"}
    with served(env, log_dir=tmp_path_factory.mktemp("serve")) as running:
        yield running


def samples(server) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics, name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_webrtc_call_explains_itself(server, records_dir, caller_wavs, tmp_path):
    before = samples(server)
    pcm = silence(48000, 500) + read_wav(caller_wavs["hours"], 48000).pcm
    caller = ScriptedCaller(server.url, pcm)
    await caller.start()
    try:
        assert await caller.wait_for(
            lambda log: log.of_type("turn") and log.voice_to_voice_ms is not None, 60
        ), server.log()[-3000:]
        # The page-side figure reaches the server's record of the turn before the hang-up.
        assert await caller.wait_for(
            lambda log: log.of_type("turn")[-1]["record"]["voice_to_voice_ms"] is not None, 10
        )
        await caller.wait_for(lambda log: log.agent_voiced_ms > 1000, 10)
        await caller.hang_up()
    finally:
        await caller.close()
    # The rest reads files and HTTP: a thread, off the event loop.
    await asyncio.to_thread(what_the_server_tells, server, records_dir, tmp_path, before,
                            caller.log.call_id, len(caller.log.of_type("turn")),
                            caller.log.voice_to_voice_ms)


def what_the_server_tells(
    server, records_dir, tmp_path, before, call_id: str, turns_seen: int, v2v: float
) -> None:
    # The call ends on the server a moment after the hang-up: wait for its record.
    database = records_dir / "calls.sqlite"
    deadline = time.monotonic() + 20
    row = None
    while time.monotonic() < deadline:
        if database.exists():
            with sqlite3.connect(database) as db:
                row = db.execute("SELECT outcome, end_reason, turn_count, transport FROM calls "
                                 "WHERE call_id = ?", (call_id,)).fetchone()
            if row is not None and row[1] is not None:
                break
        time.sleep(0.2)
    assert row is not None, server.log()[-3000:]
    outcome, end_reason, turn_count, transport = row
    assert (transport, outcome, end_reason) == ("webrtc", "answered", "hangup")
    assert turn_count >= turns_seen >= 1
    with sqlite3.connect(database) as db:
        ice = [json.loads(data) for (data,) in db.execute(
            "SELECT data FROM events WHERE call_id = ? AND kind = 'ice' ORDER BY at", (call_id,))]
        stamps = [json.loads(s) for (s,) in db.execute(
            "SELECT stamps_ms FROM turns WHERE call_id = ? ORDER BY turn_index", (call_id,))]
        measured = [v for (v,) in db.execute(
            "SELECT voice_to_voice_ms FROM turns WHERE call_id = ?", (call_id,)) if v]
    assert {"side": "server", "machine": "ice", "from": "checking", "to": "completed"} in ice
    assert len(stamps) == turn_count
    assert measured == [v2v]  # the caller's own figure, recorded once it was reported
    assert all(s["speech_end"] < s["endpoint"] <= s["first_audio_out"] for s in stamps if
               "first_audio_out" in s)

    # Metrics moved with webrtc labels; nothing is labelled by call.
    after = samples(server)
    assert value(after, "voxline_calls_total", transport="webrtc", outcome="answered") \
        == value(before, "voxline_calls_total", transport="webrtc", outcome="answered") + 1
    turned = [k for k in after if k[0] == "voxline_turn_latency_ms_count"
              and dict(k[1])["transport"] == "webrtc"]
    assert turned and sum(after[k] for k in turned) >= 1
    assert value(after, "voxline_ice_state_transitions_total", side="server", machine="ice",
                 state="completed") >= 1
    assert value(after, "voxline_active_calls", transport="webrtc") == 0
    v2v_counts = [after[k] - before.get(k, 0.0) for k in after
                  if k[0] == "voxline_voice_to_voice_ms_count"
                  and dict(k[1])["transport"] == "webrtc"]
    assert sum(v2v_counts) == 1
    assert all(call_id not in dict(k[1]).values() for k in after)

    # The engine's and telemetry's JSON lines of this call carry its id.
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("call_id") == call_id]
    assert any(line["event"].startswith("call ended") for line in ours)
    assert sum(line["event"].startswith("turn ") for line in ours) == turn_count
    for line in lines:
        if line["logger"].startswith(("voxline.telemetry.call_observer", "voxline.session")):
            assert "call_id" in line, line
        if call_id in line["event"]:  # the signalling handler's lines too, outside the engine
            assert line.get("call_id") == call_id, line

    # The call's page, as a person sees it: a waterfall per turn.
    page = httpx.get(f"{server.url}/calls/{call_id}", timeout=5)
    assert page.status_code == 200 and page.text.count('class="waterfall"') == turn_count
    assert f"voice-to-voice {v2v:.0f} ms" in page.text
    listing = httpx.get(f"{server.url}/calls", timeout=5).text
    assert f'href="/calls/{call_id}"' in listing
    shot = tmp_path / "call.png"
    with chromium(tmp_path, window=(1100, 1300)) as driver:
        driver.get(f"{server.url}/calls/{call_id}")
        bars = driver.find_elements(By.CSS_SELECTOR, "svg.waterfall rect")
        assert len(bars) >= 4 * turn_count
        assert all(bar.size["width"] >= 2 for bar in bars)
        assert driver.save_screenshot(str(shot))
    pixels = read_png(shot.read_bytes())[:, :, :3].astype(int)
    blue = np.all(np.abs(pixels - np.array(STT_BLUE)) <= 6, axis=2)
    assert blue.sum() > 100, "no STT bar drawn in the screenshot"
