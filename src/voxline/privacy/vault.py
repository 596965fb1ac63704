"""The per-call vault: what the caller said, behind stable placeholders.

    vault = CallVault(detector, SpeechPolicy.of(["NAME"]))
    vault.redact("call me on 555 123 4567")      -> "call me on [PHONE_1]"   (to the LLM)
    vault.restore({"phone": "[PHONE_1]"})         -> {"phone": "5551234567"}  (to the tool)
    vault.speakable("I have [PHONE_1].")          -> "I have the number ending in 6 7."  (TTS)
    vault.close()                                 -> everything wiped

Rules:

1. One placeholder per value per call: the same number said twice, or said as "555-123-4567"
   and later "555 123 4567", is `[PHONE_1]` both times; counters run per type.
2. The real values live only in this object's memory: never persisted, never logged (its repr
   says how many values it holds, not which). `close()` wipes them when the call ends.
3. The caller's last words (the unredacted tail of the last final transcript) are kept, at
   most CARRY_CHARS, so a number split across two turns ("555 123" ... "4567") is found; the
   part of it said in the earlier turn becomes a form of the same placeholder, so `scrub`
   replaces it wherever it was already written (the conversation history).
4. Text with nothing detected comes back unchanged, character for character.
5. Any failure of detection raises RedactionError (never the text): the caller of `redact`
   withholds the turn's words rather than pass them on unredacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from voxline.privacy.detect.entity import RedactionError
from voxline.privacy.policy import SpeechPolicy

CARRY_CHARS = 64
PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9_]*?)_(\d+)\]")
_SEPARATORS = r"[\s().,/-]*"  # what may sit between the digits of a number as written or said
_NUMERIC = re.compile(r"\+?[\d\s().,/-]+")
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class Detector(Protocol):
    def find(self, text: str, *, carry: str = "") -> list[Any]: ...


@dataclass
class _Secret:
    kind: str
    value: str
    placeholder: str
    forms: set[str] = field(default_factory=set)  # every way it was written or spoken


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _form_pattern(form: str) -> str:
    """A regex for one written form: a number matches with any separators between its digits
    (so "555-123-4567" also finds "555 123 4567"); other text matches case-insensitively."""
    digits = _digits(form)
    if len(digits) >= 4 and _NUMERIC.fullmatch(form.strip()):
        return r"(?<!\d)" + _SEPARATORS.join(digits) + r"(?!\d)"
    return re.escape(form)


class CallVault:
    def __init__(self, detector: Detector, policy: SpeechPolicy | None = None) -> None:
        self._detector = detector
        self.policy = policy or SpeechPolicy()
        self._by_placeholder: dict[str, _Secret] = {}
        self._by_value: dict[tuple[str, str], _Secret] = {}
        self._counters: dict[str, int] = {}
        self._carry = ""
        self._scrubber: re.Pattern[str] | None = None
        self._scrub_to: dict[str, str] = {}  # lowercased form -> placeholder
        self.closed = False

    def __repr__(self) -> str:  # rule 2: never the values
        return f"<CallVault {len(self._by_placeholder)} values{' closed' if self.closed else ''}>"

    # -- caller's words -> placeholders ----------------------------------------------------------

    def redact(self, text: str, *, carry_on: bool = True) -> str:
        """`text` (a final transcript, a tool result) with every detected value replaced by
        its placeholder. Raises RedactionError when detection fails. `carry_on=False` leaves
        the carry as it was (a speculative turn: `carry_on(text)` once it is confirmed)."""
        if self.closed:
            raise RedactionError("the call's vault is closed: nothing more can be redacted")
        carry = self._carry
        try:
            entities = sorted(self._detector.find(text, carry=carry),
                              key=lambda e: (e.start, -e.end))
        except RedactionError:
            raise
        except Exception as err:  # noqa: BLE001 - the detector's fault, whatever it is: never the words
            raise RedactionError(f"PII detection failed ({type(err).__name__})") from None
        if carry_on:
            self.carry_on(text)
        out: list[str] = []
        at = 0
        for entity in entities:
            start, end = entity.start, entity.end
            if start < at or end <= start:
                continue  # overlaps an entity already replaced
            # A name as said ("Maria Lopez"), not its normalised form: tools and the
            # read-back want it that way.
            value = entity.text if entity.type == "NAME" else entity.value or entity.text
            secret = self._secret(entity.type, value)
            secret.forms.add(text[start:end])
            if entity.carry_span is not None:  # rule 3: begun in the previous turn's words
                secret.forms.add(carry[entity.carry_span[0] : entity.carry_span[1]].strip())
            out += [text[at:start], secret.placeholder]
            at = end
        if not out:
            return self.scrub(text) if self._by_placeholder else text
        out.append(text[at:])
        self._scrubber = None  # new forms: rebuilt on the next scrub
        return self.scrub("".join(out))

    def carry_on(self, text: str) -> None:
        """Keep the tail of `text` (the caller's last words) for the next `redact`."""
        if not self.closed:
            self._carry = text[-CARRY_CHARS:]

    def redact_obj(self, obj: Any) -> Any:
        """A tool result (JSON-able, or a JSON string) with every string redacted."""
        if isinstance(obj, str):
            loaded = _json_or_none(obj)
            if loaded is not None:
                return json.dumps(self.redact_obj(loaded), ensure_ascii=False)
            return self._redact_keeping_carry(obj)
        return _walk(obj, self._redact_keeping_carry)

    def _redact_keeping_carry(self, text: str) -> str:
        # Tool results are not the caller's words: they must not replace the carried tail.
        return self.redact(text, carry_on=False)

    def scrub(self, text: str) -> str:
        """Replace every value this call already knows (in any of its forms) by its
        placeholder: the belt for text written before a value was recognised."""
        if not self._by_placeholder or not text:
            return text
        if self._scrubber is None:
            self._build_scrubber()
        assert self._scrubber is not None
        return self._scrubber.sub(lambda m: self._placeholder_of(m.group(0)), text)

    def _placeholder_of(self, matched: str) -> str:
        key = matched.lower()
        if key in self._scrub_to:
            return self._scrub_to[key]
        digits = _digits(matched)
        return next((s.placeholder for s in self._by_placeholder.values()
                     if digits and any(_digits(f) == digits for f in s.forms)), matched)

    def _build_scrubber(self) -> None:
        patterns: list[str] = []
        self._scrub_to = {}
        forms = [(form, secret) for secret in self._by_placeholder.values()
                 for form in secret.forms if len(form.strip()) >= 2]
        for form, secret in sorted(forms, key=lambda fs: -len(fs[0])):  # longest first
            self._scrub_to[form.lower()] = secret.placeholder
            patterns.append(_form_pattern(form))
        self._scrubber = re.compile("|".join(patterns), re.IGNORECASE) if patterns else \
            re.compile(r"(?!x)x")

    def _secret(self, kind: str, value: str) -> _Secret:
        kind = kind.upper()
        key = (kind, _digits(value) or value.casefold().strip())
        secret = self._by_value.get(key)
        if secret is None:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            secret = _Secret(kind, value, f"[{kind}_{self._counters[kind]}]", {value})
            if len(_digits(value)) >= 4:
                secret.forms.add(" ".join(_DIGIT_WORDS[int(d)] for d in _digits(value)))
            self._by_value[key] = secret
            self._by_placeholder[secret.placeholder] = secret
            secret.forms.add(self.policy.full(kind, value))
        return secret

    # -- placeholders -> real values (tools) and speech (TTS) -----------------------------------

    def restore(self, obj: Any) -> Any:
        """Tool-call arguments with placeholders replaced by the real values: a JSON string
        (as the LLM sends arguments) comes back a JSON string, nested dicts/lists as such."""
        if isinstance(obj, str):
            loaded = _json_or_none(obj)
            if loaded is not None and not isinstance(loaded, str):
                return json.dumps(_walk(loaded, self._restore_text), ensure_ascii=False)
            return self._restore_text(obj)
        return _walk(obj, self._restore_text)

    def _restore_text(self, text: str) -> str:
        def real(match: re.Match[str]) -> str:
            secret = self._by_placeholder.get(match.group(0))
            return secret.value if secret is not None else match.group(0)

        return PLACEHOLDER.sub(real, text)

    def speakable(self, text: str, policy: SpeechPolicy | None = None) -> str:
        """LLM output with each placeholder turned into what the TTS may say: the value for
        types the policy reads back, a safe form otherwise. A placeholder the vault does not
        know (the LLM made one up) becomes "the details you gave"."""
        policy = policy or self.policy

        def spoken(match: re.Match[str]) -> str:
            secret = self._by_placeholder.get(match.group(0))
            if secret is None:
                return "the details you gave"
            return policy.speak(secret.kind, secret.value)

        return PLACEHOLDER.sub(spoken, text)

    def close(self) -> None:
        """Wipe every value (the call is over). Later restores leave placeholders as they are."""
        for secret in self._by_placeholder.values():
            secret.value = ""
            secret.forms.clear()
        self._by_placeholder.clear()
        self._by_value.clear()
        self._counters.clear()
        self._scrub_to.clear()
        self._scrubber = None
        self._carry = ""
        self.closed = True

    @property
    def size(self) -> int:
        return len(self._by_placeholder)


def _json_or_none(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _walk(obj: Any, on_text: Callable[[str], str]) -> Any:
    if isinstance(obj, str):
        return on_text(obj)
    if isinstance(obj, dict):
        return {key: _walk(value, on_text) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_walk(value, on_text) for value in obj]
    return obj
