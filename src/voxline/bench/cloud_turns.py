"""The cloud-sim benchmark: how much of a turn is voxline's own time.

    python -m voxline.bench.cloud_turns --out bench/results/cloud_sim.json

One call of the ten clinic caller lines, at real-time pace, with the real Deepgram, OpenAI and
ElevenLabs clients against the local protocol servers. The servers inject FIXED delays (the
middle of the field's budget: STT final 100 ms, LLM first token 200 ms, TTS first chunk 80 ms,
no delay between tokens), so the provider time in a turn is known exactly:

    own_overhead_ms = (first TTS chunk back − transcription asked for) − 380 ms

that is everything on the answer path that is not the injected provider time: the engine, the
three clients, JSON and base64, the loopback network. A warm-up call runs the same script
first, so the TTS server answers from its cache and measures the client, not Piper.

Because turns are speculative, the answer is usually ready before the endpoint, and
`turn_latency_ms` (endpoint → first frame out) is only the wait for the next 20 ms tick.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.bench.turns import peak_rss_mib, print_figures, summarize, write_results
from voxline.config import Settings
from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.providers.registry import Providers
from voxline.session.call import Call
from voxline.talk import talk
from voxline.testing.cloud_sim import cloud_sim
from voxline.testing.profile import LatencyProfile

STT_MS, LLM_MS, TTS_MS = 100.0, 200.0, 80.0


def fixed_profile(seed: int) -> LatencyProfile:
    return LatencyProfile(
        stt_final_ms=(STT_MS, STT_MS),
        llm_first_token_ms=(LLM_MS, LLM_MS),
        llm_token_interval_ms=(0.0, 0.0),
        tts_first_chunk_ms=(TTS_MS, TTS_MS),
        seed=seed,
    )


async def run(wav_dir: Path) -> dict:
    wavs = synthesize_lines(wav_dir)
    texts = [line.text for line in CALLER_LINES]
    async with cloud_sim(Settings(), transcripts=texts * 4, profile=fixed_profile) as sim:
        providers = Providers.load(sim.settings)
        await providers.warm(CLINIC_SYSTEM_PROMPT)
        await talk(providers, sim.settings, wavs)  # warm-up: fills the TTS server's cache
        call = Call(providers, sim.settings, transport="file")
        result = await talk(providers, sim.settings, wavs, call=call)
        llm_errors = dict(getattr(providers.llm, "error_counts", {}))
    turns = [r.to_dict() for r in result.records]
    answered = [t for t in turns if t["outcome"] == "answered" and not t["tool_calls"]]
    overhead = []
    for t in answered:
        stamps = t["stamps_ms"]
        if "tts_first_chunk" in stamps and "stt_request" in stamps:
            path = stamps["tts_first_chunk"] - stamps["stt_request"]
            overhead.append(round(path - (STT_MS + LLM_MS + TTS_MS), 2))
    figures = {
        name: summarize([t["latency"][name] for t in answered if t["latency"][name] is not None])
        for name in ("stt_latency_ms", "llm_first_token_ms", "tts_first_chunk_ms",
                     "turn_latency_ms", "stt_compute_ms")
    }
    figures["voice_to_voice_ms"] = summarize(
        [t["voice_to_voice_ms"] for t in answered if t["voice_to_voice_ms"] is not None]
    )
    figures["own_overhead_ms"] = summarize(overhead)
    return {
        "benchmark": "cloud-sim-turns",
        "injected_ms": {"stt_final": STT_MS, "llm_first_token": LLM_MS, "tts_first_chunk": TTS_MS},
        "turns": len(turns),
        "answered_without_tools": len(answered),
        "latency_ms": figures,
        "llm_error_counts": llm_errors,
        "peak_rss_mib": peak_rss_mib(),
        "turn_records": turns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results/cloud_sim.json"))
    parser.add_argument("--wavs", type=Path, default=Path("var/demo"))
    args = parser.parse_args()
    results = asyncio.run(run(args.wavs))
    write_results(args.out, results)
    print(f"{results['answered_without_tools']}/{results['turns']} turns measured")
    print_figures(results["latency_ms"])


if __name__ == "__main__":
    main()
