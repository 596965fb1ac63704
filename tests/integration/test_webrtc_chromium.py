"""The call page in real headless Chromium against `voxline serve`: loopback only.

Chromium's fake mic plays a clinic caller line (a WAV made from voxline.demo's caller lines); the
page calls the agent over WebRTC, the agent transcribes the question and answers, and the
answer's sound arrives in the page's received track, where the page times voice-to-voice.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from websockets.sync.client import connect

from voxline.testing.chromium import chromium, fake_mic_wav, wait_page
from voxline.testing.png import read_png
from voxline.testing.serve_process import served

pytestmark = pytest.mark.models
# The call connects while this much silence plays, then the caller asks.
LEAD_MS = 3000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"VOXLINE_WEBRTC__MAX_CALLS": "1"}
    with served(env, log_dir=tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture
def idle(server):
    _wait_calls(server, 0, 10)
    return server


def _stats(server) -> dict:
    return httpx.get(f"{server.url}/webrtc/stats", timeout=5).json()


def _wait_calls(server, active: int, timeout_s: float) -> dict:
    """Wait until `active` calls are up and no line is held; the last stats."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = _stats(server)
        settled = stats["active_calls"] == active and stats["held_calls"] == 0
        if settled or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


@pytest.fixture(scope="module")
def hours_wav(caller_wavs, tmp_path_factory) -> Path:
    return fake_mic_wav(caller_wavs["hours"], tmp_path_factory.mktemp("mic") / "hours.wav",
                        lead_ms=LEAD_MS)


def _call(driver, url: str) -> None:
    driver.get(url)
    driver.find_element(By.ID, "call").click()


def test_chromium_caller_is_answered_and_the_page_times_voice_to_voice(
    idle, hours_wav, key_words, tmp_path
):
    server = idle
    with chromium(tmp_path, fake_audio=hours_wav) as driver:
        _call(driver, f"{server.url}/")
        state = wait_page(
            driver, lambda s: s["turns"] and s["voiceToVoice"] and s["turns"][-1]["voice_to_voice_ms"],
            90,
        )
        state = wait_page(driver, lambda s: s["agentVoicedMs"] > 1000, 15)
        shown = driver.find_element(By.ID, "v2v-ms").text
        transcript = driver.find_element(By.ID, "transcript").text
        mute = driver.find_element(By.ID, "mute")
        mute.click()
        muted = (mute.get_attribute("aria-pressed"), mute.text, driver.execute_script(
            "return document.getElementById('agent-audio').srcObject !== null"))
        mic_enabled = driver.execute_script(
            "return window.voxlineMicEnabled && window.voxlineMicEnabled()")
        driver.find_element(By.ID, "hangup").click()
        ended = wait_page(driver, lambda s: s["state"] == "ended", 10)
    log = server.log()
    assert state["state"] == "connected", (state, log[-3000:])
    assert state["errors"] == [] and ended["endReason"] == "hangup"
    assert state["setupMs"] > 0
    assert muted == ("true", "Unmute", True) and mic_enabled is False
    assert "checking" in state["iceStates"] and "connected" in state["iceStates"]
    assert state["path"] == {"local": "host", "remote": "host", "protocol": "udp"}

    # The question was transcribed by the agent, and the page shows it.
    caller = " ".join(t["text"] for t in state["transcript"] if t["who"] == "caller").lower()
    assert all(word in caller for word in key_words["hours"]), state["transcript"]
    assert "hours" in transcript.lower()
    record = state["turns"][-1]
    assert record["transport"] == "webrtc" and record["reply"]
    assert record["latency"]["turn_latency_ms"] is not None

    # The spoken answer arrived as energy in the received track, and the page timed it.
    assert state["agentVoicedMs"] > 1000
    v2v = state["voiceToVoice"][0]
    assert v2v > 0 and record["voice_to_voice_ms"] == v2v
    # The page rounds as JavaScript does (Math.round: halves up), not as Python's round (halves
    # to even): 1532.5 shows as 1533.
    assert shown == f"{math.floor(v2v + 0.5)} ms"

    stats = _wait_calls(server, 0, 10)
    browser = stats["state_transitions"]["browser"]["ice"]
    assert browser["checking"] >= 1 and browser["connected"] >= 1
    assert any(e["reason"] == "hangup" and e["setup_ms"] for e in stats["ended_recent"])


def test_the_page_renders(idle, tmp_path):
    shot = tmp_path / "page.png"
    with chromium(tmp_path, window=(1200, 1000)) as driver:
        driver.get(f"{idle.url}/")
        wait_page(driver, lambda s: s is not None, 10)
        assert driver.title.startswith("voxline")
        call = driver.find_element(By.ID, "call")
        assert call.is_displayed() and call.is_enabled() and call.text == "Call"
        assert not driver.find_element(By.ID, "hangup").is_enabled()
        status = driver.find_element(By.ID, "server-status").text
        assert "ready for calls" in status and idle.url.removeprefix("http://") in status
        assert "WebRTC browser calls" in status
        box = call.rect
        assert driver.save_screenshot(str(shot))
    pixels = read_png(shot.read_bytes())
    assert pixels.shape[1] == 1200 and pixels.shape[0] > 600  # the viewport, drawn
    rgb = pixels[..., :3].reshape(-1, 3).astype(int)
    background = np.array([0xF3, 0xF5, 0xF8])
    assert (np.abs(rgb - background).sum(axis=1) > 15).mean() > 0.3  # cards, not a blank page
    assert len(np.unique(rgb, axis=0)) > 50  # text and widgets, not a flat fill
    # The Call button is drawn in the accent blue where the DOM says it is.
    cy = int(box["y"] + box["height"] / 2)
    button = pixels[cy - 3 : cy + 3, int(box["x"]) + 4 : int(box["x"]) + 10, :3].reshape(-1, 3)
    assert (np.abs(button.astype(int) - [0x1F, 0x6F, 0xEB]).sum(axis=1) < 40).any(), button[:4]


def test_a_denied_microphone_gets_a_clear_message(idle, tmp_path):
    with chromium(tmp_path, deny_mic=True) as driver:
        _call(driver, f"{idle.url}/")
        state = wait_page(driver, lambda s: s["errors"], 20)
        notice = driver.find_element(By.ID, "notice")
        assert notice.is_displayed() and "Microphone access was denied" in notice.text
        assert driver.find_element(By.ID, "call").is_enabled()  # can try again
    assert state["errors"][0]["code"] == "mic_denied" and state["state"] == "failed"
    assert _wait_calls(idle, 0, 5)["held_calls"] == 0  # the page gave its line back


def test_a_full_server_gets_a_clear_message(idle, tmp_path):
    line = httpx.post(f"{idle.url}/webrtc/calls", timeout=5).json()  # the only line
    try:
        with chromium(tmp_path) as driver:
            _call(driver, f"{idle.url}/")
            state = wait_page(driver, lambda s: s["errors"], 20)
            notice = driver.find_element(By.ID, "notice").text
        assert state["errors"][0]["code"] == "server_full"
        assert "The server is full" in notice
    finally:  # claim the held line and hang up, so it does not linger
        ws_url = idle.url.replace("http", "ws", 1) + line["signalling"]
        with connect(ws_url) as ws:
            ws.send(json.dumps({"type": "hangup"}))
            ws.recv(10)


def test_relay_only_without_a_turn_server_fails_with_an_ice_message(idle, hours_wav, tmp_path):
    with chromium(tmp_path, fake_audio=hours_wav) as driver:
        _call(driver, f"{idle.url}/?relay=1")
        state = wait_page(driver, lambda s: s["endReason"], 40)
        notice = driver.find_element(By.ID, "notice").text
    assert state["relay"] is True
    assert state["endReason"].startswith("ice_failed"), state
    assert "no network path to the server (ICE failed)" in notice
    stats = _wait_calls(idle, 0, 10)
    assert any(e["reason"].startswith("ice_failed: no usable remote candidates")
               for e in stats["ended_recent"])


def _call_in_a_second_tab(driver, url: str) -> tuple[str, str]:
    """Start a call in a new tab; (the first tab's handle, the call id)."""
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    _call(driver, url)
    state = wait_page(driver, lambda s: s["state"] == "connected", 30)
    assert state["state"] == "connected", state
    return first, state["callId"]


def _ended_within_5_s(server, call_id: str, gone_at: float) -> str:
    stats = _wait_calls(server, 0, 5)
    waited = time.monotonic() - gone_at
    assert stats["active_calls"] == 0, f"call still up {waited:.1f} s after its tab went"
    reasons = [e["reason"] for e in stats["ended_recent"] if e["call_id"] == call_id]
    assert reasons, stats["ended_recent"]
    return reasons[0]


def test_closing_the_tab_ends_the_call_within_5_s(idle, hours_wav, tmp_path):
    with chromium(tmp_path, fake_audio=hours_wav) as driver:
        first, call_id = _call_in_a_second_tab(driver, f"{idle.url}/")
        assert _stats(idle)["active_calls"] == 1
        driver.close()  # the tab, not the browser: the page says goodbye on pagehide
        reason = _ended_within_5_s(idle, call_id, time.monotonic())
        driver.switch_to.window(first)
    assert reason in ("hangup", "signalling_closed")


def test_a_crashed_tab_ends_the_call_within_5_s(idle, hours_wav, tmp_path):
    with chromium(tmp_path, fake_audio=hours_wav) as driver:
        first, call_id = _call_in_a_second_tab(driver, f"{idle.url}/")
        with pytest.raises(WebDriverException, match="crashed"):
            driver.execute_cdp_cmd("Page.crash", {})  # no pagehide, no goodbye
        reason = _ended_within_5_s(idle, call_id, time.monotonic())
        driver.switch_to.window(first)
    assert reason == "signalling_closed"
