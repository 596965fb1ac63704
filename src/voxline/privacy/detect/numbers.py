"""Spoken and written numbers -> digit strings, each piece tied to the words it came from.

STT writes numbers both ways: "555-0123", "five five five oh one two three", "double oh seven",
"twelve thirty four", "nineteen eighty", "eight hundred". A *run* is a maximal stretch of such
words; its *chunks* are the pieces a caller says as one unit ("twenty three" -> "23"), so a
recogniser can try sub-runs on chunk boundaries and map digits back to the original words.
Concatenating chunks gives the digits as dialled: "nineteen eighty" -> "1980",
"twelve thirty four" -> "1234", "five hundred fifty five" -> "555".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxline.privacy.detect.tokens import Token

UNITS = {
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_REPEAT = {"double": 2, "triple": 3}
_DASHES = {"dash", "hyphen", "-"}
# Written digits with the separators people and STT put in numbers; not "/" "." ":" "$" "%",
# which make dates, decimals, times, prices and percentages.
_WRITTEN = re.compile(r"\+?[\d()\-]*\d[\d()\-]*|(\d{3}\.)?\d{3}\.\d{4}")


@dataclass(frozen=True, slots=True)
class Chunk:
    digits: str
    first: int  # token index of its first word
    last: int  # token index of its last word (inclusive)
    spoken: bool  # said in words, not written in digits


@dataclass(frozen=True, slots=True)
class NumberRun:
    chunks: tuple[Chunk, ...]

    @property
    def digits(self) -> str:
        return "".join(c.digits for c in self.chunks)


def _unit(low: str) -> int | None:
    if low in UNITS:
        return UNITS[low]
    return int(low) if len(low) == 1 and low.isdigit() else None


def _is_number_word(low: str) -> bool:
    return (
        low in UNITS or low in TEENS or low in TENS or low in _REPEAT
        or low in ("hundred", "thousand") or _WRITTEN.fullmatch(low) is not None
    )  # fmt: skip


def _below_hundred(toks: list[Token], i: int, end: int) -> tuple[int, int] | None:
    """A value 0-99 said at toks[i] ("seven", "twelve", "forty two"): (value, words used)."""
    if i >= end:
        return None
    low = toks[i].low
    if low in TENS:
        if i + 1 < end and toks[i + 1].low in UNITS and UNITS[toks[i + 1].low] > 0:
            return TENS[low] + UNITS[toks[i + 1].low], 2
        return TENS[low], 1
    if low in TEENS:
        return TEENS[low], 1
    if low in UNITS and low not in ("oh", "o"):
        return UNITS[low], 1
    return None


def _spoken_chunk(toks: list[Token], i: int, end: int) -> tuple[str, int] | None:
    """The chunk of words starting at toks[i]: (digits, words used), or None."""
    low = toks[i].low
    if low in _REPEAT and i + 1 < end:
        unit = _unit(toks[i + 1].low)
        if unit is not None:
            return str(unit) * _REPEAT[low], 2
        return None
    head = _below_hundred(toks, i, end)
    if head is None:
        if low in UNITS:  # "oh"
            return "0", 1
        if low == "hundred":
            head, used = (1, 0)
        elif low == "thousand":
            return "1000", 1
        else:
            return None
    else:
        head, used = head
    j = i + used
    # "five hundred fifty five", "nineteen hundred", "two thousand and five".
    if j < end and toks[j].low in ("hundred", "thousand"):
        scale = 100 if toks[j].low == "hundred" else 1000
        j += 1
        value = head * scale
        if scale == 1000 and j < end:
            hundreds = _below_hundred(toks, j, end)
            if hundreds and j + hundreds[1] < end and toks[j + hundreds[1]].low == "hundred":
                value += hundreds[0] * 100
                j += hundreds[1] + 1
        k = j + 1 if j < end and toks[j].low == "and" else j
        rest = _below_hundred(toks, k, end)
        # "eight hundred five five five ..." is 800 then digits dictated one by one, not 805.
        dictated = (
            rest is not None and rest[1] == 1 and toks[k].low in UNITS
            and k + 1 < end and toks[k + 1].low in UNITS
        )  # fmt: skip
        if rest is not None and not dictated:
            value += rest[0]
            j = k + rest[1]
        return str(value), j - i
    return str(head), used


def number_runs(toks: list[Token]) -> list[NumberRun]:
    """Every maximal run of number words in `toks`, split into chunks."""
    runs: list[NumberRun] = []
    n = len(toks)
    i = 0
    while i < n:
        chunks: list[Chunk] = []
        while i < n:
            low = toks[i].low
            if low in _DASHES and chunks and i + 1 < n and _is_number_word(toks[i + 1].low):
                i += 1
                continue
            if low == "plus" and not chunks and i + 1 < n and _is_number_word(toks[i + 1].low):
                spoken = _spoken_chunk(toks, i + 1, n)
                if spoken is not None:
                    chunks.append(Chunk("+" + spoken[0], i, i + spoken[1], True))
                    i += 1 + spoken[1]
                    continue
            if _WRITTEN.fullmatch(low):
                digits = re.sub(r"[^\d+]", "", low)  # "555.0123": dotted phone form only
                if "+" in digits[1:]:
                    break
                chunks.append(Chunk(digits, i, i, False))
                i += 1
                continue
            spoken = _spoken_chunk(toks, i, n)
            if spoken is None:
                break
            digits, used = spoken
            chunks.append(Chunk(digits, i, i + used - 1, True))
            i += used
        if chunks:
            runs.append(NumberRun(tuple(chunks)))
        else:
            i += 1
    return runs


def windows(run: NumberRun, *, min_digits: int, max_digits: int) -> list[tuple[int, int, str]]:
    """Sub-runs (chunk i..j exclusive, digits) whose length fits, longest first, so a stray
    "two" said before a phone number does not hide the number."""
    out: list[tuple[int, int, str]] = []
    n = len(run.chunks)
    for i in range(n):
        digits = ""
        for j in range(i, n):
            digits += run.chunks[j].digits
            if len(digits) > max_digits + 1:
                break
            count = len(digits.lstrip("+"))
            if min_digits <= count <= max_digits:
                out.append((i, j + 1, digits))
    out.sort(key=lambda w: (-(w[1] - w[0]), w[0]))
    return out
