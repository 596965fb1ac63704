"""Browser calls over WebRTC: set-up time and the page's voice-to-voice, in real Chromium.

    python -m voxline.bench.webrtc_calls --out bench/results/webrtc.json [--calls 10]

`voxline serve` runs in a child process on the embedded models, host candidates pinned to
127.0.0.1. Each call is a fresh headless Chromium whose fake mic plays one clinic caller line
(after LEAD_MS of silence, while the call connects); the page calls, the agent answers, and the
call hangs up once the answer's record (with the page's voice-to-voice) is in. Calls run one
after another, so each figure is one caller on an otherwise idle worker.

Reported, p50/p95 over the calls:
* set-up, offer -> ICE connected, timed by the server (aiortc) and by the page;
* voice_to_voice_ms timed by the page from audio (end of the caller's voice on the mic track to
  the agent's first sound in the received track, WebAudio on one clock);
* the server's turn figures for the same turns, to show where the time went, and what is left
  of voice-to-voice outside the turn engine (voice_to_voice - endpoint_delay - turn_latency):
  both network directions, Opus, aiortc's and Chromium's jitter buffers, resampling, the
  browser's capture and playout paths, and where the VAD and the page's -40 dBFS floor put the
  end of the caller's voice.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from voxline.bench.turns import print_figures, summarize, write_results
from voxline.config import Settings
from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.session.latency import LATENCY_NAMES
from voxline.testing.chromium import chromium, fake_mic_wav, wait_page
from voxline.testing.serve_process import served

LEAD_MS = 3000
CALL_TIMEOUT_S = 90


def one_call(url: str, wav: Path, profile_dir: Path) -> dict[str, Any]:
    with chromium(profile_dir, fake_audio=wav) as driver:
        driver.get(f"{url}/")
        driver.find_element(By.ID, "call").click()
        state = wait_page(
            driver,
            lambda s: s["errors"]
            or (s["turns"] and s["turns"][-1]["voice_to_voice_ms"] is not None),
            CALL_TIMEOUT_S,
        )
        driver.find_element(By.ID, "hangup").click()
    turn = state["turns"][-1] if state["turns"] else None
    v2v = state["voiceToVoice"][0] if state["voiceToVoice"] else None
    latency = turn["latency"] if turn else {}
    engine = [latency.get("endpoint_delay_ms"), latency.get("turn_latency_ms")]
    outside = None if v2v is None or None in engine else round(v2v - sum(engine), 1)
    return {
        "call_id": state["callId"],
        "errors": state["errors"],
        "setup_ms_server": state["setupMs"],
        "setup_ms_page": state["browserSetupMs"],
        "voice_to_voice_ms": v2v,
        "outside_engine_ms": outside,
        "path": state["path"],
        "transcript": turn["transcript"] if turn else None,
        "outcome": turn["outcome"] if turn else None,
        "latency": latency,
    }


def run(calls: int, work: Path) -> dict[str, Any]:
    lines = synthesize_lines(work / "callers")
    load_before = os.getloadavg()
    results = []
    with served(log_dir=work / "serve") as server:
        for n in range(calls):
            line = CALLER_LINES[n % len(CALLER_LINES)]
            wav = fake_mic_wav(lines[n % len(lines)], work / f"mic{n}.wav", lead_ms=LEAD_MS)
            started = time.monotonic()
            result = one_call(server.url, wav, work)
            heard = (result["transcript"] or "").lower()
            result["line"] = line.name
            result["key_words_heard"] = all(w in heard for w in line.key_words)
            results.append(result)
            print(
                f"call {n + 1:>2} {line.name:<10} set-up {result['setup_ms_server']} ms, "
                f"voice-to-voice {result['voice_to_voice_ms']} ms "
                f"({time.monotonic() - started:.0f} s)",
                flush=True,
            )
            time.sleep(1)  # let the worker finish closing the call
    summary = summarize_calls(results)
    # Other work on the machine shares its two cores with the models and the browser.
    summary["machine"]["load_average_1m"] = {
        "before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)
    }
    return summary


def summarize_calls(results: list[dict[str, Any]]) -> dict[str, Any]:
    def values(key: str) -> list[float]:
        return [r[key] for r in results if r[key] is not None]

    settings = Settings()
    figures = {
        "setup_ms (server: offer -> ICE connected)": summarize(values("setup_ms_server")),
        "setup_ms (page: offer sent -> ICE connected)": summarize(values("setup_ms_page")),
        "voice_to_voice_ms (page, from audio)": summarize(values("voice_to_voice_ms")),
        "outside the engine (v2v - endpoint - turn)": summarize(values("outside_engine_ms")),
        **{
            name: summarize([r["latency"][name] for r in results if r["latency"].get(name) is not None])
            for name in LATENCY_NAMES
        },
    }
    return {
        "benchmark": "webrtc-calls",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "browser": "Debian chromium, headless, fake mic from the clinic caller lines",
        "providers": {"stt": settings.stt, "llm": settings.llm, "tts": settings.tts},
        "endpointing_trailing_silence_ms": settings.endpointing.trailing_silence_ms,
        "calls": len(results),
        "answered": sum(r["outcome"] == "answered" for r in results),
        "key_words_heard": sum(r["key_words_heard"] for r in results),
        "failed": [r for r in results if r["errors"]],
        "figures_ms": figures,
        "per_call": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/webrtc.json"))
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voxline-webrtc-bench-") as work:
        results = run(args.calls, Path(work))
    write_results(args.out, results)
    print(f"\n{results['answered']}/{results['calls']} answered, "
          f"{results['key_words_heard']} with the question's key words heard")
    print_figures(results["figures_ms"])
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
