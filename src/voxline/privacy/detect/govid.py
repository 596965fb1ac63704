"""US Social Security numbers (by cue or the 3-2-4 written form, with the SSA's never-issued
ranges excluded) and payment card numbers (Luhn-checked, issuer prefixes)."""

from __future__ import annotations

import re

from voxline.privacy.detect.context import Candidate, Utterance, phrases
from voxline.privacy.detect.entity import CARD, SSN
from voxline.privacy.detect.numbers import NumberRun, windows

SSN_PRIORITY = 70
CARD_PRIORITY = 60
SSN_CUES = phrases("social", "ssn", "s s n", "social security", "security number")
LAST_FOUR_CUES = phrases("last four", "last 4")
_SSN_WRITTEN = re.compile(r"\d{3}-\d{2}-\d{4}")


def _valid_ssn(digits: str) -> bool:
    # Never issued: area 000, 666 or 900-999; group 00; serial 0000.
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def luhn(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = int(ch)
        if k % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_prefix(digits: str) -> bool:
    # Visa 4, Mastercard 51-55 / 2221-2720, Amex 34/37, Discover 6011/65/644-649, Diners 36/38.
    return digits[0] in "3456" or (digits[0] == "2" and "2221" <= digits[:4] <= "2720")


def find_ssns(utt: Utterance) -> list[Candidate]:
    out: list[Candidate] = []
    for run in utt.runs:
        for i, j, digits in windows(run, min_digits=4, max_digits=9):
            first, last = run.chunks[i].first, run.chunks[j - 1].last
            cued = utt.cue_before(first, SSN_CUES, window=10)
            written = j - i == 1 and _SSN_WRITTEN.fullmatch(utt.tokens[first].text) is not None
            if len(digits) == 9 and (cued or written) and _valid_ssn(digits):
                pass
            elif len(digits) == 4 and cued and utt.cue_before(first, LAST_FOUR_CUES, window=10):
                pass  # "the last four of my social are one two three four"
            else:
                continue
            start, end = utt.span(first, last)
            out.append(Candidate(SSN, start, end, digits, SSN_PRIORITY))
            break
    return out


def _card_search(utt: Utterance, run: NumberRun, out: list[Candidate]) -> None:
    for i, j, digits in windows(run, min_digits=13, max_digits=19):
        if luhn(digits) and _card_prefix(digits):
            start, end = utt.span(run.chunks[i].first, run.chunks[j - 1].last)
            out.append(Candidate(CARD, start, end, digits, CARD_PRIORITY))
            return


def find_cards(utt: Utterance) -> list[Candidate]:
    out: list[Candidate] = []
    for run in utt.runs:
        if len(run.digits) >= 13:
            _card_search(utt, run, out)
    return out
