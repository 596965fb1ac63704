"""What the detector reports: one typed span of personal data, and the error it may raise."""

from __future__ import annotations

from dataclasses import dataclass

from voxline.errors import VoxlineError

# Built-in entity types. Configured identifier types (MRN, MEMBER_ID, ...) are plain strings too.
PHONE = "PHONE"
EMAIL = "EMAIL"
SSN = "SSN"
CARD = "CARD"
DOB = "DOB"
ADDRESS = "ADDRESS"
NAME = "NAME"
BUILTIN_TYPES = (PHONE, EMAIL, SSN, CARD, DOB, ADDRESS, NAME)


@dataclass(frozen=True, slots=True)
class Entity:
    """One piece of personal data in a transcript.

    `start`/`end` index the text given to `find` (never the carry); `text` is `text[start:end]`,
    the words as the caller said them. `value` is the normalised value ("5550123",
    "john.smith@gmail.com", "1980-03-03"), for the vault and for tests; it is PII, so it is never
    logged. `carry_span`, when set, is the (start, end) of the entity's first part in the carry
    (the previous turn's text): the caller must redact that part too, wherever it went.
    """

    type: str
    start: int
    end: int
    text: str
    value: str
    carry_span: tuple[int, int] | None = None

    def __repr__(self) -> str:
        # Keep the value out of reprs: a repr ends up in tracebacks and logs.
        return f"Entity({self.type}, {self.start}:{self.end})"


class RedactionError(VoxlineError):
    """Detection failed on a turn. The caller must withhold the text (never pass it on
    unredacted). The message names the failing stage only: it never quotes the text."""
