"""CPU and RSS of the worker, and CPU of everything else the run started, sampled on a thread.

The worker's figures are the benchmark's; the others (the cloud-sim servers' process, the
caller processes, the whole machine) say why a step broke: the worker's core saturated, or the
callers or servers were short of CPU, or other work on the machine took it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import psutil

INTERVAL_S = 0.5


class ProcessSampler:
    """Every INTERVAL_S: (monotonic time, worker CPU % of one core, worker RSS MiB), and in
    `others`: (time, sim CPU %, callers' CPU % summed, machine CPU % of all cores, load 1 min).
    CPU % over 100 means more than one core."""

    def __init__(self, pid: int, sim_pid: int | None = None,
                 interval_s: float = INTERVAL_S) -> None:
        self._process = psutil.Process(pid)
        self._sim = psutil.Process(sim_pid) if sim_pid else None
        self._known = {pid, sim_pid, os.getpid()}
        self._callers: dict[int, psutil.Process] = {}
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self.samples: list[tuple[float, float, float]] = []
        self.others: list[tuple[float, float | None, float, float, float]] = []

    def __enter__(self) -> ProcessSampler:
        self._process.cpu_percent(None)  # the first reading only starts the interval
        if self._sim is not None:
            self._sim.cpu_percent(None)
        psutil.cpu_percent(None)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                cpu = self._process.cpu_percent(None)
                rss = self._process.memory_info().rss / 2**20
            except psutil.Error:  # the worker is gone: the run will say why
                return
            now = time.monotonic()
            self.samples.append((now, round(cpu, 1), round(rss, 2)))
            sim = None
            if self._sim is not None:
                with contextlib.suppress(psutil.Error):
                    sim = round(self._sim.cpu_percent(None), 1)
            self.others.append((now, sim, round(self._callers_cpu(), 1),
                                round(psutil.cpu_percent(None), 1), round(os.getloadavg()[0], 2)))

    def _callers_cpu(self) -> float:
        """The caller processes: children of this process that are neither worker nor sim."""
        total = 0.0
        for child in psutil.Process().children():
            if child.pid in self._known or "resource_tracker" in " ".join(_cmdline(child)):
                continue
            process = self._callers.setdefault(child.pid, child)
            with contextlib.suppress(psutil.Error):
                total += process.cpu_percent(None)
        return total


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []
