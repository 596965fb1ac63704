"""Latency profiles and fault injection shared by the local protocol servers.

Defaults are the field's budget (DESIGN.md): STT final 80–120 ms after the endpoint, LLM first
token 150–250 ms, TTS first chunk 60–100 ms. Each delay is drawn uniformly from its range with a
seeded generator, and every drawn value is recorded, so a benchmark can subtract exactly the
time the server injected from what voxline measured.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from enum import StrEnum


class Fault(StrEnum):
    NONE = "none"
    DROP_MID_STREAM = "drop_mid_stream"  # close the connection half-way through an answer
    RATE_LIMIT = "429"  # HTTP 429 with Retry-After (WebSocket: close 1008 / error message)
    SERVER_ERROR = "500"
    SLOW_FIRST = "slow_first"  # first token / transcript / audio takes `slow_first_s`
    MALFORMED = "malformed"  # a frame that breaks the documented protocol
    AUTH = "auth"  # reject the credentials (HTTP 401 / WebSocket handshake refused)


@dataclass
class LatencyProfile:
    stt_final_ms: tuple[float, float] = (80.0, 120.0)
    llm_first_token_ms: tuple[float, float] = (150.0, 250.0)
    llm_token_interval_ms: tuple[float, float] = (10.0, 20.0)
    tts_first_chunk_ms: tuple[float, float] = (60.0, 100.0)
    seed: int = 1
    injected: list[tuple[str, float]] = field(default_factory=list)  # (what, ms), in order
    # (what, request received, first answer sent) on the system-wide monotonic clock, so a
    # client in another process can subtract the whole time a server held each request.
    holds: list[tuple[str, int, int]] = field(default_factory=list)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def draw(self, what: str) -> float:
        """A delay in seconds for `what` (one of the range fields' names), recorded."""
        low, high = getattr(self, what)
        ms = self._rng.uniform(low, high)
        self.injected.append((what, ms))
        return ms / 1000

    def hold(self, what: str, received_ns: int) -> None:
        """Record, just before the first answer bytes go out, since when `what` was held."""
        self.holds.append((what, received_ns, time.monotonic_ns()))

    @classmethod
    def instant(cls) -> LatencyProfile:
        """No injected delay: for wire-level tests."""
        zero = (0.0, 0.0)
        return cls(zero, zero, zero, zero)


@dataclass
class FaultPlan:
    """Which fault to inject, and on which request (0-based count of requests/connections)."""

    fault: Fault = Fault.NONE
    on_requests: frozenset[int] = frozenset({0})
    slow_first_s: float = 3.0
    retry_after_s: float = 1.0

    def active(self, request_index: int) -> Fault:
        return self.fault if request_index in self.on_requests else Fault.NONE
