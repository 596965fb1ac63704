"""What the per-call vault adds to a turn, beyond detection: `python -m voxline.bench.vault_overhead`.

A 12-turn clinic call is replayed through a PrivacyBoundary (the real detector and vault):
per turn, the caller's words are redacted, the whole history is scrubbed for the LLM request,
a reply is turned into speech, a tool call restored and its result redacted. Each turn's total
is timed with perf_counter_ns; medians and percentiles go to bench/results/vault_overhead.json.
Run it under `chrt -r 1` and note the load average: it is CPU time on the event loop.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from voxline.config import Settings
from voxline.privacy.boundary import PrivacyBoundary, call_vault
from voxline.providers.base import ToolCall

CALLER = [
    "Hi, I'd like to book a cleaning.",
    "This is Maria Lopez.",
    "I was born on March 3rd 1980.",
    "My number is 555 123",
    "4567, that's my cell.",
    "Tuesday at 2 PM works.",
    "My card number is 4242 4242 4242 4242.",
    "Can you email me at maria dot lopez at gmail dot com?",
    "What are your opening hours?",
    "Do you also do whitening?",
    "My member ID is on the card, I don't have it.",
    "Great, thank you very much. Goodbye.",
]
REPLY = "Thanks [NAME_1], I have [PHONE_1] and I'll confirm by email. Anything else?"
CALLS = 200


def one_call(settings: Settings) -> list[float]:
    boundary = PrivacyBoundary(call_vault(settings))
    history: list[dict] = [{"role": "system", "content": "You are a receptionist. " * 40}]
    times = []
    for said in CALLER:
        start = time.perf_counter_ns()
        text = boundary.caller_words(said)
        boundary.carry_on(said)
        history.append({"role": "user", "content": text})
        boundary.to_llm(history)
        boundary.to_speech(REPLY)
        call = boundary.to_tool(ToolCall("1", "book", '{"name": "[NAME_1]", "phone": "[PHONE_1]"}'))
        boundary.from_tool("book", json.dumps({"booked": True, **json.loads(call.arguments)}))
        history.append({"role": "assistant", "content": REPLY})
        times.append((time.perf_counter_ns() - start) / 1e6)
    boundary.close()
    return times


def main() -> None:
    settings = Settings()
    one_call(settings)  # warm: detector tables loaded
    times = sorted(t for _ in range(CALLS) for t in one_call(settings))
    q = statistics.quantiles(times, n=100)
    result = {
        "benchmark": "vault_overhead",
        "what": "privacy boundary per turn: redact + scrub history + speech + restore + "
                "redact tool result (detector included), 12-turn calls",
        "turns": len(times),
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(q[94], 3),
        "p99_ms": round(q[98], 3),
        "max_ms": round(times[-1], 3),
        "load_average": os.getloadavg(),
    }
    out = Path("bench/results/vault_overhead.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
