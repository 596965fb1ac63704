"""CPU and RSS of a process, sampled on a thread while a run goes on."""

from __future__ import annotations

import threading
import time

import psutil

INTERVAL_S = 0.5


class ProcessSampler:
    """Samples (monotonic time, CPU % of one core, RSS MiB) of `pid` and its children every
    INTERVAL_S until stopped. CPU % over 100 means more than one core."""

    def __init__(self, pid: int, interval_s: float = INTERVAL_S) -> None:
        self._process = psutil.Process(pid)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self.samples: list[tuple[float, float, float]] = []

    def __enter__(self) -> ProcessSampler:
        self._process.cpu_percent(None)  # the first reading only starts the interval
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
            except psutil.Error:  # the process is gone: the run will say why
                return
            self.samples.append((time.monotonic(), round(cpu, 1), round(rss, 2)))

    def between(self, start: float, end: float) -> list[tuple[float, float, float]]:
        return [s for s in self.samples if start <= s[0] <= end]
