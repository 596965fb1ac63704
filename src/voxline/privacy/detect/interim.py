"""Interim (partial) transcripts. Detection runs on finals, where the words are settled; a
partial can end in the middle of a number or a spelling that is not recognisable yet
("my card is four one one one"). Partials never leave the process unredacted: anything that
shows one (a live caption, a debug view) takes `redact_interim`, which redacts what is found
and also masks the unfinished tail: a trailing run of number words or spelled letters."""

from __future__ import annotations

from voxline.privacy.detect.detector import PiiDetector
from voxline.privacy.detect.numbers import number_runs
from voxline.privacy.detect.redact import replace_entities
from voxline.privacy.detect.tokens import tokenize

PENDING = "[…]"


def redact_interim(text: str, detector: PiiDetector, *, carry: str = "") -> str:
    redacted = replace_entities(text, detector.find(text, carry=carry))
    tokens = tokenize(redacted)
    if not tokens:
        return redacted
    # Where the unfinished tail starts: the last number run or spelled run touching the end.
    start = None
    runs = number_runs(tokens)
    if runs and runs[-1].chunks[-1].last == len(tokens) - 1:
        start = tokens[runs[-1].chunks[0].first].start
    k = len(tokens) - 1
    while k >= 0 and len(tokens[k].low) == 1 and tokens[k].low.isalpha():
        k -= 1
    if k < len(tokens) - 2:  # two or more single letters at the end
        spelled = tokens[k + 1].start
        start = spelled if start is None else min(start, spelled)
    if start is None:
        return redacted
    return redacted[:start] + PENDING
