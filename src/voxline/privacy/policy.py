"""What the agent may say aloud in place of a placeholder the LLM wrote.

The LLM only ever sees placeholders ("[PHONE_1]"). When its reply is spoken, each placeholder
becomes either the real value, for the types the operator allows to be read back
(`PrivacySettings.read_back`, e.g. a name, or a phone number on confirmation), or a safe form
that tells the caller which detail is meant without repeating it: "the number ending in 34",
"the card ending in 4242", "the date you gave".

Pure functions of (type, value): no state, nothing logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# {last2}/{last4}: the value's last digits; types not listed get "the <type> you gave".
SAFE_FORMS: dict[str, str] = {
    "PHONE": "the number ending in {last2}",
    "CARD": "the card ending in {last4}",
    "SSN": "the social security number ending in {last4}",
    "DOB": "the date you gave",
    "EMAIL": "the email address you gave",
    "ADDRESS": "the address you gave",
    "NAME": "you",
}
DIGITS_SPOKEN_ONE_BY_ONE = frozenset({"PHONE", "CARD", "SSN"})


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def spoken_digits(value: str) -> str:
    """'5551234567' -> '5 5 5, 1 2 3, 4 5 6 7': digit by digit, grouped, so a TTS reads
    a number the way a person reads one back, not as "five billion"."""
    digits = _digits(value)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    if len(groups) > 1 and len(groups[-1]) < 3:  # 10 digits: 3-3-4, not 3-3-3-1
        groups[-2:] = [groups[-2] + groups[-1]]
    return ", ".join(" ".join(group) for group in groups)


@dataclass(frozen=True)
class SpeechPolicy:
    read_back: frozenset[str] = frozenset({"NAME"})
    safe_forms: dict[str, str] = field(default_factory=lambda: dict(SAFE_FORMS))

    @classmethod
    def of(cls, read_back: Iterable[str]) -> SpeechPolicy:
        return cls(read_back=frozenset(t.upper() for t in read_back))

    def allows(self, kind: str) -> bool:
        return kind.upper() in self.read_back

    def full(self, kind: str, value: str) -> str:
        """The value as the TTS should say it in a read-back."""
        if kind.upper() in DIGITS_SPOKEN_ONE_BY_ONE and _digits(value):
            return spoken_digits(value)
        return value

    def safe(self, kind: str, value: str) -> str:
        """A form of the value that names it without saying it."""
        digits = _digits(value)
        template = self.safe_forms.get(kind.upper())
        if template is None or ("{last" in template and len(digits) < 6):
            # Too few digits to give some away, or a type without a form of its own.
            return f"the {kind.lower().replace('_', ' ')} you gave"
        return template.format(last2=" ".join(digits[-2:]), last4=" ".join(digits[-4:]))

    def speak(self, kind: str, value: str) -> str:
        return self.full(kind, value) if self.allows(kind) else self.safe(kind, value)
