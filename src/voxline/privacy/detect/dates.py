"""Dates of birth: "march third nineteen eighty", "the 3rd of March, 1980", "3/3/1980",
"oh three oh three nineteen eighty" after "born". A date is a DOB when a birth cue precedes it,
or when it carries a year too early for an appointment (more than ten years ago)."""

from __future__ import annotations

import datetime
import re

from voxline.privacy.detect.context import Candidate, Utterance, phrases
from voxline.privacy.detect.entity import DOB
from voxline.privacy.detect.numbers import TEENS, TENS, UNITS, NumberRun

PRIORITY = 55
CUES = phrases(
    "born", "birthday", "birthday's", "birth", "date of birth", "dob", "d o b", "birthdate", "b day",
)  # fmt: skip
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_WRITTEN_DAY = re.compile(r"(\d{1,2})(st|nd|rd|th)?")
_NUMERIC_DATE = re.compile(r"(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{2}|\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _day(utt: Utterance, i: int) -> tuple[int, int] | None:
    """A day of the month said at token i: (day, words used)."""
    toks = utt.tokens
    if i >= len(toks):
        return None
    low = toks[i].low
    if low in ORDINALS:
        return ORDINALS[low], 1
    if low in ("twenty", "thirty") and i + 1 < len(toks):
        nxt = toks[i + 1].low
        if nxt in ORDINALS and ORDINALS[nxt] < 10:
            return TENS[low] + ORDINALS[nxt], 2
        if nxt in UNITS and UNITS[nxt] > 0:
            return TENS[low] + UNITS[nxt], 2
    if low in TEENS:
        return TEENS[low], 1
    if low in UNITS and low not in ("oh", "o", "zero"):
        return UNITS[low], 1
    if low in TENS and low in ("twenty", "thirty"):
        return TENS[low], 1
    match = _WRITTEN_DAY.fullmatch(low)
    if match:
        return int(match.group(1)), 1
    return None


class _Dates:
    def __init__(self, utt: Utterance, this_year: int) -> None:
        self.utt = utt
        self.this_year = this_year
        # Runs from each chunk on: "may 5 1972" is one run ("5", "1972"); the year starts mid-run.
        self.run_at = {
            chunk.first: NumberRun(run.chunks[k:])
            for run in utt.runs
            for k, chunk in enumerate(run.chunks)
        }

    def year(self, i: int) -> tuple[int, int] | None:
        """A year said from token i: (year, index of its last word)."""
        run = self.run_at.get(i)
        if run is None:
            return None
        digits = ""
        for chunk in run.chunks[:2]:
            digits += chunk.digits
            if len(digits) == 4:
                year = int(digits)
                if 1900 <= year <= self.this_year:
                    return year, chunk.last
                return None
            if len(digits) > 4:
                return None
        first = run.chunks[0]
        if len(first.digits) == 2 and (first.spoken or "'" in self.utt.tokens[i].text):
            yy = int(first.digits)
            return (2000 + yy if yy <= self.this_year % 100 else 1900 + yy), first.last
        return None

    def month_first(self, i: int) -> tuple[int, int, int | None, int] | None:
        """'march third [nineteen eighty]' at token i: (month, day, year, last index)."""
        toks = self.utt.tokens
        month = MONTHS.get(toks[i].low)
        if month is None:
            return None
        day = _day(self.utt, i + 1)
        if day is None or not 1 <= day[0] <= 31:
            return None
        last = i + day[1]
        year = self.year(last + 1)
        if year is None and last + 2 < len(toks) and toks[last + 1].low in ("of", "in"):
            year = self.year(last + 2)
        if year is not None:
            return month, day[0], year[0], year[1]
        return month, day[0], None, last

    def day_first(self, i: int) -> tuple[int, int, int | None, int] | None:
        """'the third of march [nineteen eighty]' at token i (the day)."""
        toks = self.utt.tokens
        day = _day(self.utt, i)
        if day is None or toks[i].low in UNITS and day[1] == 1:
            return None  # "two of may" is not a date; "second of may" is
        j = i + day[1]
        if j + 1 >= len(toks) or toks[j].low != "of" or toks[j + 1].low not in MONTHS:
            return None
        month = MONTHS[toks[j + 1].low]
        year = self.year(j + 2)
        if year is not None:
            return month, day[0], year[0], year[1]
        return month, day[0], None, j + 1


def _value(month: int, day: int, year: int | None) -> str | None:
    try:
        datetime.date(year or 2000, month, day)
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


def _spoken_numeric(utt: Utterance, run: NumberRun, this_year: int) -> tuple[str, int] | None:
    """'oh three oh three nineteen eighty' (MMDDYYYY): (value, chunks used)."""
    digits = ""
    for used, chunk in enumerate(run.chunks, 1):
        digits += chunk.digits
        if len(digits) == 8:
            month, day, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
            if 1900 <= year <= this_year:
                value = _value(month, day, year)
                return (value, used) if value else None
            return None
        if len(digits) > 8:
            return None
    return None


def find_dobs(utt: Utterance, *, this_year: int | None = None) -> list[Candidate]:
    this_year = this_year or datetime.date.today().year
    dates = _Dates(utt, this_year)
    out: list[Candidate] = []
    toks = utt.tokens
    for i in range(len(toks)):
        found = dates.month_first(i) or dates.day_first(i)
        first = i - 1 if i > 0 and toks[i - 1].low == "the" and dates.day_first(i) else i
        if found is None:
            written = _NUMERIC_DATE.fullmatch(toks[i].low)
            iso = _ISO_DATE.fullmatch(toks[i].low)
            if written:
                month, day, year = (int(g) for g in written.groups())
                if year < 100:
                    year += 2000 if year <= this_year % 100 else 1900
                found = (month, day, year, i)
            elif iso:
                year, month, day = (int(g) for g in iso.groups())
                found = (month, day, year, i)
            else:
                continue
        month, day, year, last = found
        value = _value(month, day, year)
        if value is None:
            continue
        cued = utt.cue_before(i, CUES, window=12)
        if cued or (year is not None and year <= this_year - 10):
            start, end = utt.span(first, last)
            out.append(Candidate(DOB, start, end, value, PRIORITY))
    for run in utt.runs:
        first = run.chunks[0].first
        if utt.cue_before(first, CUES, window=8):
            spoken = _spoken_numeric(utt, run, this_year)
            if spoken is not None:
                start, end = utt.span(first, run.chunks[spoken[1] - 1].last)
                out.append(Candidate(DOB, start, end, spoken[0], PRIORITY))
    return out
