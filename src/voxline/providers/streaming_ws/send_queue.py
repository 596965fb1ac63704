"""The bounded queue of messages waiting to go out on a streaming socket.

Bounded and drop-oldest, because a caller's audio must never block the event loop while a
provider is slow or reconnecting, and the newest audio is the audio worth sending. It also
holds the replay that ``on_reconnect`` sends, so that it goes out ahead of the backlog (rule 4),
and takes back a message that failed to go out, at the head (rule 5).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

log = logging.getLogger(__name__)

Message = str | bytes


class SendQueue:
    def __init__(self, name: str, max_messages: int) -> None:
        self.name = name
        self.max_messages = max_messages
        self.dropped = 0  # messages that will never be sent (queue full, or socket closed)
        self._messages: deque[Message] = deque()
        self._replay: list[Message] | None = None  # sends made inside on_reconnect (rule 4)
        self._wakeup = asyncio.Event()  # the queue got a message
        self._idle = asyncio.Event()  # the queue is empty and nothing is being sent
        self._idle.set()

    def __len__(self) -> int:
        return len(self._messages)

    def put(self, message: Message) -> None:
        """Never blocks: when full, the oldest message is dropped to make room."""
        if self._replay is not None:
            self._replay.append(message)
            return
        if len(self._messages) >= self.max_messages:
            self._messages.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning(
                    "%s: send queue full; dropped %d oldest messages", self.name, self.dropped
                )
        self._messages.append(message)
        self._idle.clear()
        self._wakeup.set()

    async def get(self) -> Message:
        """The next message to send; while there is none, the queue counts as idle."""
        while not self._messages:
            self._idle.set()
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._messages.popleft()

    def put_back(self, message: Message) -> None:
        """A message that did not go out goes first next time (rule 5)."""
        self._messages.appendleft(message)

    def discard(self) -> int:
        """Drop every queued message; returns how many."""
        count = len(self._messages)
        self._messages.clear()
        self._idle.set()
        return count

    async def drained(self) -> None:
        """Returns once everything queued has been handed to the connection."""
        await self._idle.wait()

    def begin_replay(self) -> None:
        """From now until `end_replay`, `put` collects the reconnect replay (rule 4)."""
        self._replay = []

    def end_replay(self) -> None:
        """The replay goes ahead of everything queued during the outage."""
        replay, self._replay = self._replay or [], None
        self._messages.extendleft(reversed(replay))
        if self._messages:
            self._idle.clear()
            self._wakeup.set()
