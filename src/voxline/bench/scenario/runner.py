"""Run a scenario: the cloud-sim servers' process, a worker per step, caller processes.

For each number of concurrent calls (one step of a sweep) a fresh `voxline serve` worker is
started, so every step starts from the same idle baseline. Its CPU and RSS are sampled from
outside (psutil) while the calls run. Callers run in `caller_processes` processes of their own
(spawned, each one asyncio loop) so that their work is not the worker's. Call start times are
on the system-wide monotonic clock, shared by every process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import queue
import shutil
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psutil

from voxline.bench.scenario.callers import CallPlan, caller_process
from voxline.bench.scenario.results import step_results
from voxline.bench.scenario.sampler import ProcessSampler
from voxline.bench.scenario.schema import Scenario, ScenarioError
from voxline.bench.scenario.vad_tail import vad_tail_ms
from voxline.bench.scenario.worker import TWILIO_TOKEN, server_turns, worker_env
from voxline.config import Settings
from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.testing.profile import LatencyProfile
from voxline.testing.serve_process import Served, served

SPAWN_LEAD_S = 4.0  # caller processes import and connect nothing before this
RESULTS_GRACE_S = 90.0  # past the last call's planned end, a caller process is given up on
TRANSCRIPT = "Hello, I have a question."  # what the STT server hears in a WAV line


def fixed_delays(scenario: Scenario):
    """The module-level profile factory the sim process needs (pickled by reference)."""
    return _FixedProfile(scenario.provider_ms.stt_final, scenario.provider_ms.llm_first_token,
                         scenario.provider_ms.tts_first_chunk)


class _FixedProfile:
    def __init__(self, stt: float, llm: float, tts: float) -> None:
        self.ms = (stt, llm, tts)

    def __call__(self, seed: int) -> LatencyProfile:
        stt, llm, tts = self.ms
        return LatencyProfile(stt_final_ms=(stt, stt), llm_first_token_ms=(llm, llm),
                              llm_token_interval_ms=(0.0, 0.0), tts_first_chunk_ms=(tts, tts),
                              seed=seed)


def script_wavs(scenario: Scenario, base: Path, demo_dir: Path) -> tuple[list[str], list[str]]:
    """(WAV paths, transcripts) of the script's lines."""
    by_name = {line.name: line for line in CALLER_LINES}
    needed = [by_name[name] for name in scenario.script.lines if name in by_name]
    paths = dict(zip((l.name for l in needed), synthesize_lines(demo_dir, tuple(needed))))
    wavs, texts = [], []
    for name in scenario.script.lines:
        if name in by_name:
            wavs.append(str(paths[name]))
            texts.append(by_name[name].text)
        else:
            path = base / name if (base / name).exists() else Path(name)
            wavs.append(str(path))
            texts.append(TRANSCRIPT)
    return wavs, texts


async def run_scenario(scenario: Scenario, out_dir: Path, *, base: Path = Path("."),
                       demo_dir: Path = Path("var/demo")) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    wavs, texts = await asyncio.to_thread(script_wavs, scenario, base, demo_dir)
    turns_per_call = int(scenario.duration_s / (1 + scenario.script.pause_s)) + len(texts) + 2
    transcripts = texts * (turns_per_call * (sum(scenario.calls) + 2 * len(scenario.calls)))
    tails = {name: await asyncio.to_thread(vad_tail_ms, Path(wav), scenario.worker.vad,
                                           scenario.worker.endpoint_ms)
             for name, wav in zip(scenario.script.lines, wavs)}
    steps = []
    async with AsyncExitStack() as stack:
        providers: Settings | None = None
        if scenario.profile == "cloud-sim":
            from voxline.testing.sim_process import cloud_sim_process

            sim = await stack.enter_async_context(cloud_sim_process(
                Settings(), transcripts=transcripts, profile=fixed_delays(scenario)))
            providers = sim.settings
        for calls in scenario.calls:
            print(f"[bench] {scenario.name}: {calls} concurrent call(s)", flush=True)
            step = await _run_step(scenario, calls, wavs, providers, out_dir / "work", tails,
                                   first_step=not steps)
            steps.append(step)
            print(f"[bench]   {_one_line(step)}", flush=True)
    return {
        "scenario": scenario.model_dump(),
        "machine": {"cpus": os.cpu_count(), "python": _python()},
        "steps": steps,
    }


async def _run_step(scenario: Scenario, calls: int, wavs: list[str],
                    providers: Settings | None, work: Path,
                    tails: dict[str, float | None], first_step: bool) -> dict[str, Any]:
    step_dir = work / f"calls-{calls}"
    shutil.rmtree(step_dir, ignore_errors=True)  # records of an earlier run must not count
    step_dir.mkdir(parents=True)
    # Logs and databases of the run, for a look after it: never for the repository.
    (work / ".gitignore").write_text("*\n")
    records_dir = step_dir / "records"
    env = worker_env(scenario, records_dir, providers, max_calls=calls + 10)
    sip_port = None
    if scenario.transport == "sip":
        sip_port = _free_udp_port()
        env.update({"VOXLINE_SIP__ENABLED": "true", "VOXLINE_SIP__PORT": str(sip_port)})
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        server: Served = await asyncio.to_thread(
            stack.enter_context, served(env, log_dir=step_dir))
        pid = _worker_pid(server.port)
        sampler = stack.enter_context(ProcessSampler(pid, _sim_pid(pid)))
        plan = CallPlan(server.url, scenario.transport, tuple(scenario.script.lines), tuple(wavs),
                        scenario.script.pause_s, scenario.script.answer_timeout_s,
                        scenario.duration_s, TWILIO_TOKEN,
                        f"sip:agent@127.0.0.1:{sip_port}" if sip_port else None)
        idle_start = time.monotonic()
        await asyncio.sleep(scenario.settle_s)
        idle_end = time.monotonic()
        if scenario.warmup:  # its turns are not counted
            # The first step's warm-up says every line (fills the TTS server's cache, which
            # outlives the step); later ones one line (opens the worker's connections).
            lines = slice(None) if first_step else slice(0, 1)
            warm = dataclasses.replace(plan, duration_s=0.0, lines=plan.lines[lines],
                                       wavs=plan.wavs[lines])
            await asyncio.to_thread(_place, warm, 1, 1, 0.0)
        started = time.monotonic()
        results = await asyncio.to_thread(_place, plan, calls, scenario.caller_processes,
                                          scenario.ramp_s)
        ended = time.monotonic()
        log_tail = server.log()[-4000:]
    load_after = os.getloadavg()
    turns = server_turns(records_dir, skip_first_calls=1 if scenario.warmup else 0)
    return step_results(
        scenario, calls, results, turns, sampler.samples, others=sampler.others,
        idle=(idle_start, idle_end), window=(started, ended),
        load=(load_before, load_after), vad_tails=tails, log_tail=log_tail,
    )


def _place(plan: CallPlan, calls: int, processes: int, ramp_s: float) -> list[dict[str, Any]]:
    """Spread `calls` over `processes` caller processes; wait for all their results."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    t0 = time.monotonic() + SPAWN_LEAD_S
    starts = [t0 + ramp_s * i / calls for i in range(calls)]
    shares = [starts[i::processes] for i in range(processes)]
    children = [context.Process(target=caller_process, args=(plan, share, out), daemon=True,
                                name=f"voxline-bench-caller-{i}")
                for i, share in enumerate(shares) if share]
    for child in children:
        child.start()
    deadline = (t0 + ramp_s + plan.duration_s + plan.answer_timeout_s * 3
                + RESULTS_GRACE_S)
    results: list[dict[str, Any]] = []
    try:
        for _ in children:
            left = deadline - time.monotonic()
            try:
                status, payload = out.get(timeout=max(1.0, left))
            except queue.Empty:
                raise ScenarioError("caller processes did not report in time") from None
            if status != "ok":
                raise ScenarioError(f"a caller process failed:\n{payload}")
            results.extend(payload)
    finally:
        for child in children:
            child.join(5)
            if child.is_alive():
                child.kill()
    return sorted(results, key=lambda r: r["started_at"])


def _worker_pid(port: int) -> int:
    """The `voxline serve` child listening on `port`."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmdline = child.cmdline()
            if "serve" in cmdline and any(c.laddr.port == port for c in child.net_connections()
                                          if c.status == psutil.CONN_LISTEN):
                return child.pid
    raise ScenarioError(f"cannot find the worker process listening on port {port}")


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sim_pid(worker_pid: int) -> int | None:
    """The cloud-sim servers' process: the spawned child that is not the worker (callers are
    not started yet when this is asked)."""
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(child.cmdline())
            if child.pid != worker_pid and "spawn_main" in cmdline:
                return child.pid
    return None


def _python() -> str:
    import platform

    return platform.python_version()


def _one_line(step: dict[str, Any]) -> str:
    latency = step["latency_ms"]
    v2v, own = latency["voice_to_voice_ms"], latency["overhead_ms"]
    return (f"calls {step['placed']} (failed {step['failed']}), turns {step['turns']}: "
            f"v2v p50 {v2v['p50']} p95 {v2v['p95']}; overhead p50 {own['p50']} p95 "
            f"{own['p95']} ms; gaps {step['gaps']}; worker CPU {step['worker']['cpu_percent_mean']}%"
            f", RSS peak {step['worker']['rss_peak_mib']} MiB")
