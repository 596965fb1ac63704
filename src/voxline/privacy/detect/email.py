"""Email addresses, written ("john.smith@gmail.com") or said ("john dot smith at gmail dot com",
"j smith eighty four at yahoo dot com", "jane underscore doe at clinic dot org")."""

from __future__ import annotations

import re

from voxline.privacy.detect.context import Candidate, Utterance
from voxline.privacy.detect.entity import EMAIL
from voxline.privacy.detect.numbers import TEENS, TENS, UNITS

PRIORITY = 90
_WRITTEN = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_CONNECTORS = {
    "dot": ".", "period": ".", "point": ".", ".": ".",
    "underscore": "_", "_": "_", "dash": "-", "hyphen": "-", "-": "-",
}  # fmt: skip
_AT = {"at", "@"}
TLDS = {
    "com", "org", "net", "edu", "gov", "mil", "io", "co", "us", "info", "biz", "me", "uk",
    "ca", "health", "care", "app", "ai", "de", "fr", "au", "in",
}  # fmt: skip
# Words that come before an address, never inside its local part.
_NOT_LOCAL = {
    "is", "it's", "its", "email", "e-mail", "address", "me", "my", "to", "at", "the", "send",
    "mail", "it", "and", "or", "use", "reach", "try", "was", "be", "a", "an", "on", "um", "uh",
}  # fmt: skip
_LABEL = re.compile(r"[a-z0-9][a-z0-9\-]*")
_LOCAL = re.compile(r"[a-z0-9][a-z0-9.+_\-]*")


def _word_value(low: str) -> str | None:
    if low in UNITS and low not in ("o",):
        return str(UNITS[low])
    if low in TEENS:
        return str(TEENS[low])
    if low in TENS:
        return str(TENS[low])
    return low if _LOCAL.fullmatch(low) else None


def _domain(utt: Utterance, i: int) -> tuple[str, int] | None:
    """The domain said from token i ("gmail dot com", "gmail.com"): (domain, last index)."""
    toks = utt.tokens
    said: list[tuple[int, list[str]]] = []  # (token index, its labels)
    j = i
    while j < len(toks):
        parts = toks[j].low.split(".")
        if not all(_LABEL.fullmatch(p) for p in parts):
            break
        said.append((j, parts))
        if j + 1 < len(toks) and toks[j + 1].low in ("dot", "period", "point", "."):
            j += 2
            continue
        break
    # The address ends at the last label that is a top-level domain ("... dot com and ...").
    while said and said[-1][1][-1] not in TLDS:
        said.pop()
    labels = [label for _, parts in said for label in parts]
    if len(labels) < 2:
        return None
    return ".".join(labels), said[-1][0]


def _local(utt: Utterance, at: int) -> tuple[str, int] | None:
    """The local part said before the "at" at index `at`: (local, first index)."""
    toks = utt.tokens
    first = at - 1
    if first < 0 or toks[first].low in _NOT_LOCAL:
        return None
    value = _word_value(toks[first].low)
    if value is None:
        return None
    parts = [value]
    spelled = len(value) == 1  # "j o h n": letters or digits said one by one
    joined_only = False  # after "k ninety": only a connector ("mary underscore") may follow
    while first > 0:
        prev = toks[first - 1].low
        if prev in _NOT_LOCAL or (joined_only and prev not in _CONNECTORS):
            break
        if prev in _CONNECTORS:
            word = _word_value(toks[first - 2].low) if first >= 2 else None
            if word is None or toks[first - 2].low in _NOT_LOCAL:
                break
            parts[:0] = [word, _CONNECTORS[prev]]
            first -= 2
            spelled = len(word) == 1
            joined_only = False
            continue
        prev_value = _word_value(prev)
        if prev_value is None:
            break
        if prev in TENS and toks[first].low in UNITS and len(parts[0]) == 1:
            parts[0] = str(TENS[prev] + int(parts[0]))  # "eighty four" -> 84
            first -= 1
            continue
        if spelled and len(prev_value) == 1:
            parts.insert(0, prev_value)
            first -= 1
            continue
        if parts[0].isdigit():
            # Digits said after a word: "jsmith eighty four" -> jsmith84; one word, then stop.
            parts.insert(0, prev_value)
            first -= 1
            joined_only = True
            continue
        break
    return "".join(parts), first


def find_emails(utt: Utterance) -> list[Candidate]:
    out: list[Candidate] = []
    for match in _WRITTEN.finditer(utt.text):
        out.append(Candidate(EMAIL, match.start(), match.end(), match.group().lower(), PRIORITY))
    for at, tok in enumerate(utt.tokens):
        if tok.low not in _AT:
            continue
        domain = _domain(utt, at + 1)
        if domain is None:
            continue
        local = _local(utt, at)
        if local is None:
            continue
        start, end = utt.span(local[1], domain[1])
        out.append(Candidate(EMAIL, start, end, f"{local[0]}@{domain[0]}", PRIORITY))
    return out
