"""The cloud-sim benchmark: how much of a turn is voxline's own time.

    python -m voxline.bench.cloud_turns --out bench/results/cloud_sim.json

Calls of the ten clinic caller lines (three by default), at real-time pace, with the real Deepgram, OpenAI and
ElevenLabs clients against the local protocol servers. The servers inject fixed delays (the
middle of the field's budget: STT final 100 ms, LLM first token 200 ms, TTS first chunk 80 ms,
no delay between tokens) and record how long they held each request, on the monotonic clock
the client stamps with too (bench/overhead.py), so

    own_overhead_ms = (first TTS chunk back − transcription asked for) − servers' holds

is everything on the answer path that no provider was working on: the engine, the three
clients, JSON and base64, the loopback hop. It is split per client and into the engine's
hand-offs. The servers run in a process of their own (`--same-process` puts them in this one,
to see what sharing the loop costs). A warm-up call runs the same script first, so the TTS
server answers from its cache and measures the client, not Piper.

Because turns are speculative, the answer is usually ready before the endpoint, and
`turn_latency_ms` (endpoint → first frame out) is only the wait for the next 20 ms tick.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.bench.overhead import SPANS, Hold, turn_overhead
from voxline.bench.turns import peak_rss_mib, print_figures, summarize, write_results
from voxline.config import Settings
from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.providers.registry import Providers
from voxline.session.call import Call
from voxline.talk import talk
from voxline.testing.cloud_sim import CloudSim, cloud_sim
from voxline.testing.profile import LatencyProfile
from voxline.testing.sim_process import cloud_sim_process

STT_MS, LLM_MS, TTS_MS = 100.0, 200.0, 80.0


@dataclass
class _InProcess:
    sim: CloudSim

    @property
    def settings(self) -> Settings:
        return self.sim.settings

    async def holds(self) -> list[Hold]:
        servers = (self.sim.deepgram, self.sim.openai, self.sim.elevenlabs)
        return sorted(hold for server in servers for hold in server.profile.holds)


@asynccontextmanager
async def cloud_sim_here(settings: Settings, **kwargs: Any) -> AsyncIterator[_InProcess]:
    async with cloud_sim(settings, **kwargs) as sim:
        yield _InProcess(sim)


def fixed_profile(seed: int) -> LatencyProfile:
    return LatencyProfile(
        stt_final_ms=(STT_MS, STT_MS),
        llm_first_token_ms=(LLM_MS, LLM_MS),
        llm_token_interval_ms=(0.0, 0.0),
        tts_first_chunk_ms=(TTS_MS, TTS_MS),
        seed=seed,
    )


async def run(wav_dir: Path, servers_apart: bool = True, calls: int = 3) -> dict:
    wavs = synthesize_lines(wav_dir)
    texts = [line.text for line in CALLER_LINES]
    start_sim = cloud_sim_process if servers_apart else cloud_sim_here
    transcripts = texts * (calls + 2)  # the warm-up call and some slack for dropped turns
    async with start_sim(Settings(), transcripts=transcripts, profile=fixed_profile) as sim:
        providers = Providers.load(sim.settings)
        await providers.warm(CLINIC_SYSTEM_PROMPT)
        await talk(providers, sim.settings, wavs)  # warm-up: fills the TTS server's cache
        measured: list[tuple[Call, list[dict]]] = []
        for _ in range(calls):
            call = Call(providers, sim.settings, transport="file")
            result = await talk(providers, sim.settings, wavs, call=call)
            measured.append((call, [r.to_dict() for r in result.records]))
        holds = await sim.holds()
        llm_errors = dict(getattr(providers.llm, "error_counts", {}))
        await providers.aclose()
    turns = [t for _, records in measured for t in records]
    answered = [t for t in turns if t["outcome"] == "answered" and not t["tool_calls"]]
    splits = [s for call, records in measured for t in records if t in answered
              and (s := turn_overhead(t["stamps_ms"], call.clock.started_ns, holds)) is not None]
    figures = {
        name: summarize([t["latency"][name] for t in answered if t["latency"][name] is not None])
        for name in ("stt_latency_ms", "llm_first_token_ms", "tts_first_chunk_ms",
                     "turn_latency_ms", "stt_compute_ms")
    }
    figures["voice_to_voice_ms"] = summarize(
        [t["voice_to_voice_ms"] for t in answered if t["voice_to_voice_ms"] is not None]
    )
    figures["own_overhead_ms"] = summarize([s.own_ms for s in splits])
    figures["servers_held_ms"] = summarize([s.held_ms for s in splits])
    for what in SPANS:
        figures[f"{what}_client_ms"] = summarize([s.clients_ms[what] for s in splits])
    figures["engine_handoffs_ms"] = summarize([s.engine_ms for s in splits])
    return {
        "benchmark": "cloud-sim-turns",
        "servers": "own process" if servers_apart else "same process",
        "injected_ms": {"stt_final": STT_MS, "llm_first_token": LLM_MS, "tts_first_chunk": TTS_MS},
        "turns": len(turns),
        "answered_without_tools": len(answered),
        "split_measured": len(splits),
        "latency_ms": figures,
        "llm_error_counts": llm_errors,
        "peak_rss_mib": peak_rss_mib(),
        "turn_records": turns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results/cloud_sim.json"))
    parser.add_argument("--wavs", type=Path, default=Path("var/demo"))
    parser.add_argument("--calls", type=int, default=3, help="measured calls of ten turns")
    parser.add_argument(
        "--same-process", action="store_true",
        help="run the protocol servers in this process (their work then counts as overhead)",
    )
    args = parser.parse_args()
    results = asyncio.run(run(args.wavs, servers_apart=not args.same_process, calls=args.calls))
    write_results(args.out, results)
    print(f"{results['answered_without_tools']}/{results['turns']} turns measured")
    print_figures(results["latency_ms"])


if __name__ == "__main__":
    main()
