"""What all telemetry costs a turn: the cloud-sim benchmark with it off, then on.

    python -m voxline.bench.telemetry_overhead --out bench/results/telemetry_overhead.json

Calls alternate off, on, off, on... on one set of providers (so drift on a busy machine hits
both alike), each call the ten clinic caller lines at real-time pace through the real Deepgram,
OpenAI and ElevenLabs clients against the local protocol servers (bench/cloud_turns.py). "On"
is everything at once: metrics, call records to SQLite through the writer thread, JSON logs
with call_id, and spans through the OpenTelemetry SDK's batch processor.

Two figures per turn:
* `own_overhead_ms` (bench/overhead.py): the answer path's time that no provider held. Its
  p95 with telemetry on minus off is what telemetry adds to a turn, end to end, noise included.
* `observer_ms_per_turn`: the time spent inside telemetry's observer, which runs synchronously
  on the event loop, per turn (all of a call's events, its start and end included), measured
  directly: the cost the loop pays. `observer_turn_event_ms`: the turn event alone (metrics,
  the record op, the spans, the log line), which comes after the turn's audio has played.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.bench.cloud_turns import fixed_profile
from voxline.bench.overhead import turn_overhead
from voxline.bench.turns import peak_rss_mib, print_figures, summarize, write_results
from voxline.config import RecordsSettings, Settings
from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.providers.registry import Providers
from voxline.session.call import Call
from voxline.talk import talk
from voxline.telemetry.call_observer import CallObserver
from voxline.telemetry.hub import Telemetry
from voxline.telemetry.logs import configure_logging
from voxline.testing.sim_process import cloud_sim_process


class _TimedObserver(CallObserver):
    """The real observer, with the time each event costs it summed per call."""

    spent_ns: ClassVar[dict[str, int]] = {}
    turn_events_ms: ClassVar[list[float]] = []

    def __call__(self, event) -> None:
        started = time.perf_counter_ns()
        super().__call__(event)
        spent = time.perf_counter_ns() - started
        self.spent_ns[self.call_id] = self.spent_ns.get(self.call_id, 0) + spent
        if event.kind == "turn":
            self.turn_events_ms.append(spent / 1e6)


def _telemetry(settings: Settings, records_dir: Path) -> Telemetry:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracer = TracerProvider()
    tracer.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    local = settings.model_copy(update={"records_dir": records_dir,
                                        "records": RecordsSettings()})
    return Telemetry.from_settings(local, tracer_provider=tracer)


async def run(wav_dir: Path, pairs: int = 2) -> dict:
    wavs = synthesize_lines(wav_dir)
    transcripts = [line.text for line in CALLER_LINES] * (2 * pairs + 3)
    configure_logging("json", "INFO", io.StringIO())  # rendered, as in production; not shown
    results: dict[str, list[dict]] = {"off": [], "on": []}
    observer_ms: list[float] = []
    with tempfile.TemporaryDirectory() as records_dir:
        async with cloud_sim_process(Settings(), transcripts=transcripts,
                                     profile=fixed_profile) as sim:
            providers = Providers.load(sim.settings)
            await providers.warm(CLINIC_SYSTEM_PROMPT)
            await talk(providers, sim.settings, wavs)  # warm-up: fills the TTS server's cache
            telemetry = _telemetry(sim.settings, Path(records_dir))
            telemetry.observer_class = _TimedObserver
            telemetry.recorder.start()  # the writer thread runs throughout, as in a server
            for _ in range(pairs):
                for mode in ("off", "on"):
                    call = Call(providers, sim.settings, transport="file")
                    if mode == "on":
                        telemetry.attach(call)
                    result = await talk(providers, sim.settings, wavs, call=call)
                    holds = await sim.holds()
                    for record in result.records:
                        turn = record.to_dict()
                        split = turn_overhead(turn["stamps_ms"], call.clock.started_ns, holds)
                        if split is not None and turn["outcome"] == "answered":
                            results[mode].append({"own_overhead_ms": split.own_ms, **turn})
                    if mode == "on":
                        spent = _TimedObserver.spent_ns.get(call.call_id, 0)
                        observer_ms.append(spent / 1e6 / max(1, len(result.records)))
            await providers.aclose()
            await asyncio.to_thread(telemetry.close)
    figures = {
        f"own_overhead_ms_{mode}": summarize([t["own_overhead_ms"] for t in turns])
        for mode, turns in results.items()
    }
    figures["observer_ms_per_turn"] = summarize(observer_ms)  # every event, per turn
    figures["observer_turn_event_ms"] = summarize(_TimedObserver.turn_events_ms)
    off, on = figures["own_overhead_ms_off"], figures["own_overhead_ms_on"]
    return {
        "benchmark": "telemetry-overhead",
        "pairs_of_calls": pairs,
        "latency_ms": figures,
        "added_p95_ms": round(on["p95"] - off["p95"], 2) if on["n"] and off["n"] else None,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results/telemetry_overhead.json"))
    parser.add_argument("--wavs", type=Path, default=Path("var/demo"))
    parser.add_argument("--pairs", type=int, default=2, help="pairs of calls, off then on")
    args = parser.parse_args()
    results = asyncio.run(run(args.wavs, pairs=args.pairs))
    write_results(args.out, results)
    print_figures(results["latency_ms"])
    print(f"  telemetry adds {results['added_p95_ms']} ms at p95 per turn")


if __name__ == "__main__":
    main()
