"""Cutting TTS audio at clause boundaries, using the per-character alignment the server sends.

The turn engine needs to know which clause each piece of audio belongs to (to cut the assistant's
message to what the caller heard on barge-in), but ElevenLabs streams one continuous voice for
the whole reply. The alignment is the only link back to the text, so the cut is made here.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from voxline.protocols import elevenlabs as el
from voxline.providers.base import SpeechChunk


class ClauseTracker:
    """Maps audio with per-character alignment to the clauses its characters came from.

    Only non-space characters are counted, so the server's whitespace handling does not matter.
    A clause's `last` chunk is emitted when the next clause's first character is heard (audio
    before that character in the same message is cut there) or at the end of the generation;
    audio without alignment goes to the current clause, in order.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.texts: list[str] = []
        self._owner: list[int] = []  # clause index of every non-space character sent
        self._pos = 0  # characters the alignment has covered so far
        self._current = 0

    def add(self, text: str) -> None:
        index = len(self.texts)
        self.texts.append(text)
        self._owner.extend(index for c in text if not c.isspace())

    @property
    def outstanding(self) -> bool:
        """Text has been sent whose audio has not arrived."""
        return self._pos < len(self._owner)

    def _chunk(self, clause: int, pcm: bytes, last: bool, align: list[Any]) -> SpeechChunk:
        return SpeechChunk(pcm, self.rate, clause, self.texts[clause], last, tuple(align) or None)

    def place(self, pcm: bytes, alignment: el.Alignment | None) -> list[SpeechChunk]:
        if not self.texts:
            return []
        samples = len(pcm) // 2
        cuts: list[tuple[int, int]] = []  # (sample offset, clause starting there)
        seen_current = False
        for char, start_ms, _ in alignment or ():
            if char.isspace():
                continue
            clause = self._owner[self._pos] if self._pos < len(self._owner) else self._current
            self._pos = min(self._pos + 1, len(self._owner))
            before = cuts[-1][1] if cuts else self._current
            if clause > before:
                # Audio ahead of a new clause's first character in this message is its lead-in.
                at = 0 if not seen_current and not cuts else round(start_ms * self.rate / 1000)
                cuts.append((min(samples, at), clause))
            seen_current = True
        bounds = [0] + [at for at, _ in cuts]
        owners = [self._current] + [c for _, c in cuts]
        ms = [b * 1000 / self.rate for b in bounds]
        aligns: list[list[tuple[str, float, float]]] = [[] for _ in bounds]
        for char, start_ms, dur in alignment or ():
            i = max(0, bisect_right(ms, start_ms) - 1)
            aligns[i].append((char, start_ms - ms[i], dur))
        out = []
        for i, (lo, owner) in enumerate(zip(bounds, owners)):
            hi = bounds[i + 1] if i + 1 < len(bounds) else samples
            last = i + 1 < len(bounds)
            if hi > lo or last:
                out.append(self._chunk(owner, pcm[lo * 2 : hi * 2], last, aligns[i]))
            if last:
                for skipped in range(owner + 1, owners[i + 1]):
                    out.append(self._chunk(skipped, b"", True, []))
        self._current = owners[-1]
        return out

    def finish(self) -> list[SpeechChunk]:
        """End of the generation: close the current clause and any that got no audio."""
        return [self._chunk(c, b"", True, []) for c in range(self._current, len(self.texts))]

