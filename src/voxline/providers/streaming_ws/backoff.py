"""Whether and when to try connecting again (rule 2): exponential backoff with full jitter.

Full jitter (a uniform draw below the exponential cap) spreads the reconnects of many calls
that lost the same provider at the same moment, so they do not all knock again in step.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from voxline.errors import ProviderError, ProviderRequestError, RateLimited
from voxline.providers.streaming_ws.handshake import AuthRefused

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base_s: float
    max_s: float
    max_retries: int  # per outage

    def delay(self, attempt: int, err: ProviderError) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        cap = min(self.max_s, self.base_s * 2**attempt)
        delay = random.uniform(0.0, cap)  # full jitter
        if isinstance(err, RateLimited) and err.retry_after_s is not None:
            # The server said when; honour it, but never wait longer than our own ceiling.
            delay = max(delay, min(err.retry_after_s, self.max_s))
        return delay


def worth_retrying(err: ProviderError) -> bool:
    """A wrong key or a wrong request fails the same way every time; anything else may pass."""
    return not isinstance(err, AuthRefused | ProviderRequestError)


async def with_retries(
    attempt_once: Callable[[], Awaitable[T]],
    backoff: Backoff,
    *,
    name: str,
    stopping: Callable[[], bool],
) -> T:
    """``attempt_once()`` until it succeeds, the error is final, retries run out or we stop."""
    attempt = 0
    while True:
        try:
            return await attempt_once()
        except ProviderError as err:
            if not worth_retrying(err) or attempt >= backoff.max_retries or stopping():
                raise
            delay = backoff.delay(attempt, err)
            attempt += 1
            log.info("%s: connect failed (%s); retry %d in %.2f s", name, err, attempt, delay)
            await asyncio.sleep(delay)
