"""Turn-taking for local models on a small CPU.

On two cores, an LLM generating the rest of a reply and Piper synthesizing the clause the
caller is about to hear slow each other down, and the caller waits on the slower one. Audio is
what the caller is waiting for, and the LLM is far ahead of speech anyway (20+ tokens/s against
~3 words/s spoken), so speech work (STT, TTS) goes first: the LLM pauses between tokens while
any speech job runs. One gate per process, because the cores are per process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The LLM never waits longer than this for one speech job (a stuck job must not stall it).
MAX_YIELD_S = 2.0


class ComputeGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._speech_jobs = 0
        self._idle = threading.Event()
        self._idle.set()

    @contextmanager
    def speech_job(self) -> Iterator[None]:
        with self._lock:
            self._speech_jobs += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._lock:
                self._speech_jobs -= 1
                if self._speech_jobs == 0:
                    self._idle.set()

    def yield_to_speech(self) -> None:
        """Called by the LLM thread between tokens."""
        self._idle.wait(MAX_YIELD_S)


LOCAL_COMPUTE = ComputeGate()
