"""One stream-input socket, opened and initialised ahead of use; it serves one turn.

ElevenLabs keeps a generation's context on the server, so a dropped socket cannot be resumed on
a new one: this socket never reconnects, and instead marks itself failed for the turn to see.
"""

from __future__ import annotations

import asyncio
from typing import Any

from voxline.errors import ProtocolViolation, ProviderError
from voxline.protocols import elevenlabs as el
from voxline.providers.streaming_ws import StreamingSocket

_INBOX = 2000  # server messages held per generation (~400 s of audio in 200 ms chunks)
_KEEPALIVE_S = 15.0


class Generation:
    def __init__(self, url: str, headers: dict[str, str], output_format: str, init: str) -> None:
        self.output_format = output_format
        self.inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=_INBOX)
        self.in_use = False
        self.final = False
        self.failed = False
        self._init = init
        self.socket = StreamingSocket(
            url,
            name="elevenlabs",
            headers=headers,
            on_message=self._on_message,
            on_give_up=self._on_give_up,
            keepalive=lambda: None if self.in_use else el.keepalive_message(),
            keepalive_interval_s=_KEEPALIVE_S,
            reconnect=False,  # a generation's context lives on the server; a new socket loses it
            max_reconnects=0,
        )

    async def open(self) -> Generation:
        await self.socket.connect()
        self.socket.send(self._init)
        return self

    @property
    def usable(self) -> bool:
        # Not `socket.connected`: that turns true only once the socket's own task has started.
        return self.socket.error is None and not (self.failed or self.final or self.in_use)

    def put(self, item: Any) -> None:
        try:
            self.inbox.put_nowait(item)
        except asyncio.QueueFull:
            self.failed = True

    def _on_message(self, raw: str | bytes) -> None:
        try:
            msg: Any = el.parse(raw)
        except ProtocolViolation as err:
            msg, self.failed = err, True
        if isinstance(msg, el.AudioMessage) and msg.is_final:
            self.final = True
        elif isinstance(msg, el.ErrorMessage):
            self.failed = True
        self.put(msg)

    def _on_give_up(self, err: BaseException) -> None:
        if self.final:
            return  # the server closes once it has sent isFinal
        self.failed = True
        self.put(ProviderError(f"ElevenLabs connection lost before the end of the audio: {err}"))
