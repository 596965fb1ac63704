"""Real Chromium takes the browser ICE JSON as it is and gets a relay from a real coturn."""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from voxline.testing.coturn import coturn
from voxline.transports.webrtc.ice import browser_rtc_configuration

# Gathers with the page's config until end-of-candidates (or 8 s) and returns the candidates.
GATHER = """
const done = arguments[arguments.length - 1];
const pc = new RTCPeerConnection(arguments[0]);
pc.createDataChannel("probe");
const found = [];
pc.onicecandidate = (event) => {
  if (event.candidate) { found.push(event.candidate.candidate); } else { pc.close(); done(found); }
};
pc.createOffer().then((offer) => pc.setLocalDescription(offer));
setTimeout(() => done(found), 8000);
"""


def _chromium() -> webdriver.Chrome:
    for binary in ("chromium", "chromedriver"):
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} is not installed; run `make debian`")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    # an explicit driver path: selenium must not try to download one
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def _gather(configs: list[dict]) -> list[list[str]]:
    driver = _chromium()
    try:
        driver.set_script_timeout(15)
        return [driver.execute_async_script(GATHER, config) for config in configs]
    finally:
        driver.quit()


async def test_chromium_gets_a_loopback_relay_with_turn_rest_credentials(tmp_path):
    async with coturn(tmp_path) as turn:
        good = browser_rtc_configuration(
            turn.webrtc_settings(ice_transport_policy="relay"), user="browser"
        )
        forged = turn.webrtc_settings(ice_transport_policy="relay", turn_rest_secret="forged")
        bad = browser_rtc_configuration(forged, user="forger")
        with_good, with_bad = await asyncio.to_thread(_gather, [good, bad])
        log = turn.log()

    assert with_good, log[-3000:]
    assert all(re.search(rf" {re.escape(turn.host)} \d+ typ relay ", c) for c in with_good)
    assert re.search(r"user <\d+:browser>: incoming packet ALLOCATE processed, success", log)
    assert with_bad == []  # coturn refused the forged credentials: nothing to offer
    assert re.search(r"user <\d+:forger>: incoming packet message processed, error 401", log)
    assert not re.search(r"user <\d+:forger>: incoming packet ALLOCATE processed, success", log)
