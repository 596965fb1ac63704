"""What Twilio has played of the agent's audio, from the marks it echoes back (sans-IO).

The sender puts a mark after every stretch of agent audio it sends; Twilio echoes a mark when
its playout reaches it. So an echo means the stretch before that mark was heard. After a
`clear`, Twilio drops its buffer and echoes the marks still in it at once (their audio was
not played): those echoes are recognised and not counted.

Positions are a lower bound: the stretch after the last echoed mark may have been partly played
when a clear cut it, and that part is not counted.
"""

from __future__ import annotations

from voxline.audio.frames import FRAME_MS


class PlayoutMarks:
    def __init__(self, prefix: str = "vx") -> None:
        self._prefix = prefix
        self._seq = 0
        self._unmarked_ms = 0  # agent audio sent since the last mark
        self._pending: dict[str, int] = {}  # mark name -> ms of audio in its stretch
        self._dropped: set[str] = set()  # marks a clear flushed: their echoes mean nothing
        self.sent_ms = 0
        self.heard_ms = 0  # agent audio Twilio confirmed played
        self.marks_sent = 0
        self.acknowledged = 0
        self.flushed = 0  # echoes of marks a clear dropped
        self.unknown = 0  # echoes of names never sent

    def audio_sent(self, frames: int = 1) -> None:
        self._unmarked_ms += frames * FRAME_MS
        self.sent_ms += frames * FRAME_MS

    @property
    def unmarked_ms(self) -> int:
        return self._unmarked_ms

    def mark(self) -> str | None:
        """Name for a mark after the audio sent so far; None when nothing was sent since the last."""
        if not self._unmarked_ms:
            return None
        self._seq += 1
        name = f"{self._prefix}{self._seq}"
        self._pending[name] = self._unmarked_ms
        self._unmarked_ms = 0
        self.marks_sent += 1
        return name

    def echoed(self, name: str) -> str:
        """Twilio echoed `name`: "played" (its stretch of audio was heard), "flushed" (a clear
        dropped it first) or "unknown" (never sent here)."""
        stretch = self._pending.pop(name, None)
        if stretch is not None:
            self.heard_ms += stretch
            self.acknowledged += 1
            return "played"
        if name in self._dropped:
            self._dropped.discard(name)
            self.flushed += 1
            return "flushed"
        self.unknown += 1
        return "unknown"

    def cleared(self) -> None:
        """A clear was sent: nothing sent so far and not yet acknowledged will be played."""
        self._dropped.update(self._pending)
        self._pending.clear()
        self._unmarked_ms = 0

    @property
    def in_flight(self) -> int:
        """Marks sent and not yet echoed."""
        return len(self._pending)
