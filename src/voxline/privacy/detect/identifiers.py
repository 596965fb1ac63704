"""Configured identifiers (medical record numbers, insurance member IDs): the letters and
digits said after one of the identifier's cues ("my m r n is a b one two three four five"),
joined and upper-cased, must match its pattern in full."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from voxline.privacy.detect.context import Candidate, Utterance, phrases
from voxline.privacy.detect.numbers import TEENS, TENS, UNITS, number_runs

if TYPE_CHECKING:
    from voxline.config import IdentifierPattern

PRIORITY = 80
_FILLER = {"is", "it's", "its", "number", "was", "um", "uh", "the", "my", "it", "that's", ":"}
_ALNUM = re.compile(r"[a-z0-9\-]+")
_DASHES = {"dash", "hyphen", "-"}
_NUMBER_WORDS = set(UNITS) | set(TEENS) | set(TENS) | {"double", "triple", "hundred", "thousand"}


class IdentifierRecogniser:
    def __init__(self, patterns: Sequence[IdentifierPattern]) -> None:
        self._patterns = [
            (p.type, re.compile(p.pattern), phrases(*p.cues), p.require_cue) for p in patterns
        ]

    def __call__(self, utt: Utterance) -> list[Candidate]:
        out: list[Candidate] = []
        for kind, pattern, cues, require_cue in self._patterns:
            out.extend(self._cued(utt, kind, pattern, cues))
            if not require_cue:
                for tok in utt.tokens:
                    value = tok.text.upper().replace("-", "")
                    if pattern.fullmatch(value) and any(ch.isdigit() for ch in value):
                        out.append(Candidate(kind, tok.start, tok.end, value, PRIORITY))
        return out

    def _cued(self, utt: Utterance, kind: str, pattern: re.Pattern[str],
              cues: tuple[tuple[str, ...], ...]) -> list[Candidate]:  # fmt: skip
        toks = utt.tokens
        lows = utt.lows
        out: list[Candidate] = []
        for cue in cues:
            n = len(cue)
            for i in range(len(toks) - n + 1):
                if tuple(lows[i : i + n]) != cue:
                    continue
                j = i + n
                while j < len(toks) and lows[j] in _FILLER:
                    j += 1
                # Letters, digits and number words said after the cue, up to 24 words.
                k = j
                while k < len(toks) and k < j + 24 and (
                    lows[k] in _NUMBER_WORDS or lows[k] in _DASHES or _ALNUM.fullmatch(lows[k]) and (
                        len(lows[k]) == 1 or any(ch.isdigit() for ch in lows[k]))
                ):  # fmt: skip
                    k += 1
                if k == j:
                    continue
                found = self._longest(utt, kind, pattern, j, k)
                if found is not None:
                    out.append(found)
        return out

    def _longest(self, utt: Utterance, kind: str, pattern: re.Pattern[str],
                 j: int, k: int) -> Candidate | None:  # fmt: skip
        toks = utt.tokens
        for end in range(k, j, -1):
            value = _spelled_value(toks[j:end])
            if value and pattern.fullmatch(value):
                start, stop = utt.span(j, end - 1)
                return Candidate(kind, start, stop, value, PRIORITY)
        return None


def _spelled_value(toks: list) -> str:
    """'a b one two three', 'AB-12345', 'x y z double four' -> 'AB123', 'AB12345', 'XYZ44'."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        low = toks[i].low
        if low in _NUMBER_WORDS:
            k = i
            while k < len(toks) and toks[k].low in _NUMBER_WORDS:
                k += 1
            runs = number_runs(list(toks[i:k]))
            out.append("".join(r.digits for r in runs))
            i = k
            continue
        if low not in _DASHES:
            out.append(low.replace("-", "").upper())
        i += 1
    return "".join(out)
