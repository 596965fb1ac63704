"""The same Chromium call, relayed through a real coturn: relay-only ICE on the page (?relay=1),
TURN REST credentials minted per call by the server from the shared secret."""

from __future__ import annotations

import asyncio
import re

import pytest
from selenium.webdriver.common.by import By

from voxline.testing.chromium import chromium, fake_mic_wav, wait_page
from voxline.testing.coturn import coturn
from voxline.testing.serve_process import served

pytestmark = pytest.mark.models


def _relayed_call(url: str, wav, tmp_path) -> dict:
    with chromium(tmp_path, fake_audio=wav) as driver:
        driver.get(f"{url}/?relay=1")
        driver.find_element(By.ID, "call").click()
        wait_page(driver, lambda s: s["turns"] and s["voiceToVoice"], 90)
        state = wait_page(driver, lambda s: s["agentVoicedMs"] > 1000 and s["path"], 15)
        state["path_shown"] = driver.find_element(By.ID, "ice-path").text
        driver.find_element(By.ID, "hangup").click()
        return state


async def test_the_call_is_relayed_through_coturn(tmp_path, caller_wavs, key_words):
    wav = fake_mic_wav(caller_wavs["hours"], tmp_path / "hours.wav", lead_ms=3000)
    async with coturn(tmp_path / "coturn") as turn:
        env = {
            "VOXLINE_WEBRTC__TURN_URLS": f'["{turn.turn_url()}"]',
            "VOXLINE_WEBRTC__TURN_REST_SECRET": turn.secret,
        }
        with served(env, log_dir=tmp_path / "serve") as server:
            state = await asyncio.to_thread(_relayed_call, server.url, wav, tmp_path)
            server_log = server.log()
        turn_log = turn.log()

    assert state["relay"] is True and state["errors"] == [], (state, server_log[-3000:])
    # The page's media went through its TURN allocation: its side of the pair is a relay.
    assert state["path"]["local"] == "relay", state["path"]
    assert state["path_shown"].startswith("relay →")
    # coturn saw the page's allocation under the call's TURN REST username (expiry:call_id).
    assert re.search(
        rf"user <\d+:{state['callId']}>: incoming packet ALLOCATE processed, success", turn_log
    ), turn_log[-3000:]

    caller = " ".join(t["text"] for t in state["transcript"] if t["who"] == "caller").lower()
    assert all(word in caller for word in key_words["hours"]), state["transcript"]
    assert state["agentVoicedMs"] > 1000
    assert state["voiceToVoice"][0] > 0
    assert state["turns"][-1]["voice_to_voice_ms"] == state["voiceToVoice"][0]
