"""Headless Debian Chromium driven by selenium, as a caller: a fake mic playing a WAV, loopback only.

    with chromium(tmp_path, fake_audio=wav) as browser:
        browser.get(f"{server.url}/")

The system chromedriver is named explicitly, so selenium-manager never downloads a driver or
a browser. Host resolution is refused for every name but 127.0.0.1, background networking,
component updates and sync are off, and each browser gets a fresh profile: the only traffic
is to the test's own servers on loopback.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from voxline.audio.frames import silence
from voxline.audio.wav import read_wav, write_wav

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FAKE_MIC_RATE = 48000  # Chromium's fake capture device reads a 48 kHz 16-bit WAV

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",  # offer 127.0.0.1 host candidates
    "--autoplay-policy=no-user-gesture-required",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
)


class ChromiumMissing(RuntimeError):
    pass


def fake_mic_wav(utterance: Path, dest: Path, *, lead_ms: int, tail_ms: int = 1000) -> Path:
    """The caller's line as Chromium's fake mic wants it: 48 kHz 16-bit mono, with `lead_ms` of
    silence first (the call connects while it plays) and `tail_ms` after."""
    audio = read_wav(utterance, FAKE_MIC_RATE)
    pcm = silence(FAKE_MIC_RATE, lead_ms) + audio.pcm + silence(FAKE_MIC_RATE, tail_ms)
    write_wav(dest, pcm, FAKE_MIC_RATE)
    return dest


def wav_duration_ms(path: Path) -> float:
    audio = read_wav(path)
    return len(np.frombuffer(audio.pcm, dtype=np.int16)) * 1000 / audio.rate


@contextmanager
def chromium(
    profile_parent: Path | None = None,
    *,
    fake_audio: Path | None = None,
    loop_audio: bool = False,
    deny_mic: bool = False,
    window: tuple[int, int] = (1200, 1400),
) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a fresh profile; quit on exit. The mic permission is granted
    without a prompt, or refused (`deny_mic`) as a person clicking "Block" would."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not Path(binary).exists():
            raise ChromiumMissing(f"{binary} is missing: apt-get install chromium chromium-driver")
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=profile_parent))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--use-fake-ui-for-media-stream{'=deny' if deny_mic else ''}")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    if fake_audio is not None:
        # %noloop: play the file once, then silence (one question per call).
        suffix = "" if loop_audio else "%noloop"
        options.add_argument(f"--use-file-for-fake-audio-capture={fake_audio}{suffix}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def page_state(driver: webdriver.Chrome) -> dict[str, Any]:
    """The call page's `window.voxline` (state, transcript, turns, voice-to-voice, errors)."""
    return driver.execute_script("return window.voxline")


def wait_page(
    driver: webdriver.Chrome, good: Callable[[dict[str, Any]], Any], timeout_s: float
) -> dict[str, Any]:
    """Poll the page's state until `good(state)` is truthy or time runs out; the last state."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = page_state(driver)
        if good(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.1)
