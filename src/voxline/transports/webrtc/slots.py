"""How many browser calls this worker takes at once: held slots, claimed by a signalling socket.

`POST /webrtc/calls` holds a slot (so the page can tell "server full" from an HTTP 503 before
it asks for the mic or opens a socket); the socket then claims it. A slot that is never
claimed lapses after `hold_s`, so an abandoned page cannot keep the worker full. Time is
injected: this module has no I/O and no event loop.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

HOLD_S = 15.0


class ServerFull(Exception):
    def __init__(self, max_calls: int) -> None:
        super().__init__(
            f"this worker is at its limit of {max_calls} concurrent WebRTC calls; "
            "try again shortly, or raise VOXLINE_WEBRTC__MAX_CALLS if the machine has room"
        )
        self.max_calls = max_calls


class CallSlots:
    def __init__(
        self, max_calls: int, hold_s: float = HOLD_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_calls < 1:
            raise ValueError(f"max_calls must be at least 1, got {max_calls}")
        self.max_calls = max_calls
        self.hold_s = hold_s
        self._clock = clock
        self._held: dict[str, float] = {}  # call_id -> when the hold lapses
        self._active: set[str] = set()

    def hold(self) -> str:
        """Hold a slot for a call about to start; its new call_id. ServerFull past the limit."""
        self._lapse()
        if len(self._held) + len(self._active) >= self.max_calls:
            raise ServerFull(self.max_calls)
        call_id = uuid.uuid4().hex[:12]
        self._held[call_id] = self._clock() + self.hold_s
        return call_id

    def claim(self, call_id: str) -> bool:
        """Turn a held slot into an active call; False if it was never held, or lapsed."""
        self._lapse()
        if self._held.pop(call_id, None) is None:
            return False
        self._active.add(call_id)
        return True

    def drop_hold(self, call_id: str) -> bool:
        """Give back a held slot the page will not use (mic refused); False if not held."""
        self._lapse()
        return self._held.pop(call_id, None) is not None

    def release(self, call_id: str) -> None:
        self._held.pop(call_id, None)
        self._active.discard(call_id)

    @property
    def active(self) -> int:
        return len(self._active)

    @property
    def held(self) -> int:
        self._lapse()
        return len(self._held)

    def _lapse(self) -> None:
        now = self._clock()
        for call_id in [c for c, until in self._held.items() if until <= now]:
            del self._held[call_id]
