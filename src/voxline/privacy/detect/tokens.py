"""Words of a transcript with their offsets, as STT writes them (lower-case or punctuated)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")
# Punctuation STT engines put around words ("Smith,", "(555)", "'john'"); stripped for matching,
# kept out of the word's span so a redaction keeps the caller's punctuation.
_EDGE = ".,;:!?\"'`()[]{}<>"


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # the word as written, edge punctuation removed
    low: str  # lower-cased text
    start: int
    end: int
    # What followed the word before the next one: "," or "." marks a pause in STT output.
    trail: str


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _WORD.finditer(text):
        raw = match.group()
        left = len(raw) - len(raw.lstrip(_EDGE))
        core = raw.strip(_EDGE)
        if not core:
            continue
        # "(555)" keeps its parentheses out, "555-0123." loses the full stop.
        start = match.start() + left
        end = start + len(core)
        trail = raw[left + len(core) :]
        tokens.append(Token(core, core.lower(), start, end, trail))
    return tokens
