"""Phone numbers, written ("(212) 555-0199", "+44 20 7946 0958") or dictated ("five five five,
oh one two three", "eight hundred ..."), validated with Google's libphonenumber metadata."""

from __future__ import annotations

import phonenumbers

from voxline.privacy.detect.context import Candidate, Utterance, phrases
from voxline.privacy.detect.entity import PHONE
from voxline.privacy.detect.numbers import NumberRun, windows

PRIORITY = 40
CUES = phrases(
    "number", "phone", "cell", "mobile", "call", "reach", "callback", "text", "landline",
    "contact", "dial", "fax",
)  # fmt: skip


def _is_phone(digits: str, cued: bool) -> bool:
    if digits.startswith("+"):
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(digits, None))
        except phonenumbers.NumberParseException:
            return False
    if len(digits) == 7:
        # A local number: exchanges never start with 0 or 1 (NANP).
        return digits[0] not in "01"
    if len(digits) == 10 or (len(digits) == 11 and digits[0] == "1"):
        number = phonenumbers.parse(digits, "US")
        if phonenumbers.is_valid_number(number):
            return True
        return cued and phonenumbers.is_possible_number(number)
    return False


def _search(utt: Utterance, run: NumberRun, lo: int, hi: int, out: list[Candidate]) -> None:
    if lo >= hi:
        return
    part = NumberRun(run.chunks[lo:hi])
    for i, j, digits in windows(part, min_digits=7, max_digits=15):
        first, last = part.chunks[i].first, part.chunks[j - 1].last
        if _is_phone(digits, utt.cue_before(first, CUES)):
            start, end = utt.span(first, last)
            if start > 0 and utt.text[start - 1] == "(":  # "(212) 555-0199": the area code's
                start -= 1
            out.append(Candidate(PHONE, start, end, digits, PRIORITY))
            _search(utt, run, lo, lo + i, out)
            _search(utt, run, lo + j, hi, out)
            return


def find_phones(utt: Utterance) -> list[Candidate]:
    out: list[Candidate] = []
    for run in utt.runs:
        _search(utt, run, 0, len(run.chunks), out)
    return out
