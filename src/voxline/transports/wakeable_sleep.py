"""A sleep that something else can end early: how a 20 ms pacing loop hears of new audio.

A transport paces the agent's audio on an absolute 20 ms schedule. While the agent is quiet
there is nothing to pace, and waiting for the next tick would add 0-20 ms (10 on average) to
every answer the endpoint releases between two ticks. The pacing loop sleeps with `sleep`;
`wake` (hooked to `AudioOut.on_playable`) ends that sleep at once.
"""

from __future__ import annotations

import asyncio


class WakeableSleep:
    def __init__(self) -> None:
        self._wake: asyncio.Future[bool] | None = None

    async def sleep(self, delay: float) -> bool:
        """Sleep `delay` seconds; True if `wake` ended the sleep early."""
        loop = asyncio.get_running_loop()
        self._wake = wake = loop.create_future()
        timer = loop.call_later(delay, _resolve, wake, False)
        try:
            return await wake
        finally:
            timer.cancel()
            self._wake = None

    def wake(self) -> None:
        if self._wake is not None:
            _resolve(self._wake, True)


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)
