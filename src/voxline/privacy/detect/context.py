"""One utterance (carry + text) as the recognisers see it: words, number runs, cue look-ups."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from voxline.privacy.detect.numbers import NumberRun, number_runs
from voxline.privacy.detect.tokens import Token, tokenize


@dataclass(frozen=True, slots=True)
class Candidate:
    """A recogniser's find, in offsets of the joined text (carry + " " + text)."""

    type: str
    start: int
    end: int
    value: str
    priority: int  # wins overlaps: an email beats the name inside it


def phrases(*items: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(item.split()) for item in items)


@dataclass
class Utterance:
    text: str
    tokens: list[Token] = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = tokenize(self.text)

    @cached_property
    def runs(self) -> list[NumberRun]:
        return number_runs(self.tokens)

    @cached_property
    def lows(self) -> list[str]:
        return [t.low for t in self.tokens]

    def cue_before(self, index: int, cues: tuple[tuple[str, ...], ...], window: int = 8) -> bool:
        """Whether one of `cues` (word sequences) ends within `window` words before `index`."""
        lows = self.lows
        for cue in cues:
            n = len(cue)
            for end in range(index, max(index - window, n - 1), -1):
                if tuple(lows[end - n : end]) == cue:
                    return True
        return False

    def cue_anywhere(self, cues: tuple[tuple[str, ...], ...]) -> bool:
        return self.cue_before(len(self.tokens), cues, window=len(self.tokens))

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character span of tokens first..last (inclusive)."""
        return self.tokens[first].start, self.tokens[last].end
