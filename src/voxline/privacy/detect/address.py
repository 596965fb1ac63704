"""Street addresses: a house number (written or said: "twelve thirty four"), one to three street
name words, a street suffix, and an optional unit ("apartment four b"); and P.O. boxes.
A street named without a house number ("the clinic on main street") is not an address."""

from __future__ import annotations

import re

from voxline.privacy.detect.context import Candidate, Utterance
from voxline.privacy.detect.entity import ADDRESS
from voxline.privacy.detect.numbers import UNITS

PRIORITY = 50
SUFFIXES = {
    "street", "st", "avenue", "ave", "road", "rd", "drive", "dr", "lane", "ln", "boulevard",
    "blvd", "court", "ct", "way", "place", "pl", "circle", "cir", "terrace", "parkway", "pkwy",
    "highway", "hwy", "trail", "square", "loop", "pike", "alley", "crescent", "row",
}  # fmt: skip
_UNIT_WORDS = {"apartment", "apt", "unit", "suite", "ste", "#", "number", "floor"}
_NOT_STREET = {
    "the", "a", "an", "on", "at", "in", "of", "and", "or", "to", "my", "your", "our", "is",
    "for", "from", "by", "with", "that", "this", "it", "we", "you", "i", "pills", "times",
    "hour", "hours", "minute", "minutes", "mile", "miles", "block", "blocks", "day", "days",
    "week", "weeks", "month", "months", "year", "years", "time", "long", "short",
}  # fmt: skip
_STREET_WORD = re.compile(r"[a-z][a-z'\-]*|\d{1,3}(st|nd|rd|th)")
_UNIT_ID = re.compile(r"[a-z]?\d{1,5}[a-z]?|[a-z]")


def _house_number(utt: Utterance, end_token: int) -> tuple[int, str] | None:
    """The house number whose last word is toks[end_token]: (first token, digits)."""
    for run in utt.runs:
        if run.chunks[-1].last != end_token:
            continue
        digits = ""
        first = None
        for chunk in reversed(run.chunks):
            if len(chunk.digits + digits) > 6 or chunk.digits.startswith("+"):
                break
            digits = chunk.digits + digits
            first = chunk.first
        if first is None or digits.startswith("0"):
            return None
        return first, digits
    return None


def _unit(utt: Utterance, i: int) -> int | None:
    """Last token of a unit said from token i ("apartment four b", "apt 4B", "suite 200")."""
    toks = utt.tokens
    if i >= len(toks) or toks[i].low not in _UNIT_WORDS:
        return None
    j = i + 1
    last = None
    while j < len(toks) and j <= i + 4:
        low = toks[j].low
        if low in UNITS or _UNIT_ID.fullmatch(low) or low in ("hundred",):
            last = j
            j += 1
            continue
        break
    return last


def find_addresses(utt: Utterance) -> list[Candidate]:
    toks = utt.tokens
    out: list[Candidate] = []
    for k, tok in enumerate(toks):
        if tok.low not in SUFFIXES:
            continue
        # Street name words between the house number and the suffix.
        for words in (1, 2, 3):
            name_start = k - words
            if name_start < 1:
                break
            name = toks[name_start:k]
            if not all(_STREET_WORD.fullmatch(t.low) and t.low not in _NOT_STREET for t in name):
                break
            house = _house_number(utt, name_start - 1)
            if house is None:
                continue
            last = _unit(utt, k + 1) or k
            start, end = utt.span(house[0], last)
            value = " ".join([house[1]] + [t.low for t in toks[name_start : last + 1]])
            out.append(Candidate(ADDRESS, start, end, value, PRIORITY))
            break
    for k in range(len(toks) - 1):
        said = " ".join(t.low for t in toks[k : k + 3])
        for form in ("p o box", "po box", "p.o box", "p.o. box", "post office box"):
            if said.startswith(form):
                used = len(form.split())
                run = next((r for r in utt.runs if r.chunks[0].first == k + used), None)
                if run is not None:
                    start, end = utt.span(k, run.chunks[-1].last)
                    out.append(Candidate(ADDRESS, start, end, f"po box {run.digits}", PRIORITY))
                break
    return out
