"""The per-call vault: stable placeholders, restore into tool arguments, the speech policy,
the cross-turn carry, the wipe, and text with no PII left alone.

The detector here is a test double with the real detector's interface (find(text, carry=)
-> Entity list): the vault's rules are tested apart from detection's."""

from __future__ import annotations

import json
import re

import pytest

from voxline.privacy.detect.entity import Entity, RedactionError
from voxline.privacy.policy import SpeechPolicy, spoken_digits
from voxline.privacy.vault import CallVault

_PHONE = re.compile(r"\d{3}[ -]\d{3}[ -]\d{4}")
_CARD = re.compile(r"\d{4} \d{4} \d{4} \d{4}")
_NAME = re.compile(r"Maria Lopez")


class Patterns:
    """Finds phones, cards and one name by regex; a 3+3 digit tail of the carry followed by
    4 digits is a phone straddling two turns."""

    def __init__(self) -> None:
        self.carries: list[str] = []

    def find(self, text: str, *, carry: str = "") -> list[Entity]:
        self.carries.append(carry)
        found = []
        for kind, pattern in (("PHONE", _PHONE), ("CARD", _CARD), ("NAME", _NAME)):
            for m in pattern.finditer(text):
                value = re.sub(r"\D", "", m.group()) if kind != "NAME" else m.group()
                found.append(Entity(kind, m.start(), m.end(), m.group(), value))
        head = re.match(r"\s*(\d{4})\b", text)
        tail = re.search(r"(\d{3} \d{3})\s*$", carry)
        if head and tail:
            value = re.sub(r"\D", "", tail.group(1)) + head.group(1)
            found.append(Entity("PHONE", head.start(1), head.end(1), head.group(1), value,
                                carry_span=tail.span(1)))
        return found


class Broken:
    def find(self, text: str, *, carry: str = "") -> list[Entity]:
        raise IndexError(f"bug while reading {text}")


@pytest.fixture
def vault() -> CallVault:
    return CallVault(Patterns(), SpeechPolicy.of(["NAME"]))


def test_text_without_pii_comes_back_unchanged(vault):
    for text in ("", "What are your hours on Tuesday?", "  two  spaces,  kept. [x] ",
                 "Ünïcode ✓ stays"):
        assert vault.redact(text) == text
    assert vault.size == 0


def test_placeholders_are_stable_per_value_and_counted_per_type(vault):
    first = vault.redact("I'm Maria Lopez, call 555-123-4567 or 555-987-6543.")
    assert first == "I'm [NAME_1], call [PHONE_1] or [PHONE_2]."
    # The same number written another way, in a later turn, keeps its placeholder.
    assert vault.redact("again: 555 123 4567") == "again: [PHONE_1]"
    assert vault.redact("card 4242 4242 4242 4242") == "card [CARD_1]"
    assert vault.size == 4


def test_restore_puts_real_values_into_nested_tool_arguments(vault):
    vault.redact("Maria Lopez, 555-123-4567")
    arguments = json.dumps({"name": "[NAME_1]", "contact": {"phones": ["[PHONE_1]", "x"]},
                            "n": 3, "note": "call [PHONE_1] first", "other": "[PHONE_9]"})
    restored = json.loads(vault.restore(arguments))
    assert restored == {"name": "Maria Lopez", "contact": {"phones": ["5551234567", "x"]},
                        "n": 3, "note": "call 5551234567 first", "other": "[PHONE_9]"}
    assert vault.restore({"a": ["[NAME_1]"]}) == {"a": ["Maria Lopez"]}
    assert vault.restore("plain [NAME_1]") == "plain Maria Lopez"


def test_tool_results_are_redacted_with_the_same_placeholders(vault):
    vault.redact("Maria Lopez, 555-123-4567")
    result = json.dumps({"booked": True, "name": "Maria Lopez", "phone": "5551234567"})
    assert json.loads(vault.redact_obj(result)) == {
        "booked": True, "name": "[NAME_1]", "phone": "[PHONE_1]"}


def test_speech_says_a_value_only_where_the_policy_allows(vault):
    vault.redact("Maria Lopez, 555-123-4567, card 4111 1111 1111 4242")
    said = vault.speakable("Thanks [NAME_1], I'll text [PHONE_1] and charge [CARD_1].")
    assert said == ("Thanks Maria Lopez, I'll text the number ending in 6 7 and charge "
                    "the card ending in 4 2 4 2.")
    read_back = SpeechPolicy.of(["NAME", "PHONE"])
    assert vault.speakable("Confirming [PHONE_1].", read_back) == \
        "Confirming 5 5 5, 1 2 3, 4 5 6 7."
    assert vault.speakable("Is [EMAIL_3] right?") == "Is the details you gave right?"
    assert "1111" not in said and "5551234567" not in said


def test_safe_forms_of_other_types():
    policy = SpeechPolicy()
    assert policy.speak("DOB", "1980-03-03") == "the date you gave"
    assert policy.speak("MEMBER_ID", "A1234") == "the member id you gave"
    assert policy.speak("PHONE", "911") == "the phone you gave"  # too short to give digits away
    assert spoken_digits("4111111111114242") == "4 1 1, 1 1 1, 1 1 1, 1 1 1, 4 2 4 2"


def test_a_number_split_across_turns_is_caught_and_its_first_half_scrubbed(vault):
    detector = vault._detector
    first = vault.redact("my number is 555 123")  # not yet a number
    assert first == "my number is 555 123"
    second = vault.redact("4567 thanks")
    assert detector.carries[-1].endswith("555 123")  # the unredacted tail was carried
    assert second == "[PHONE_1] thanks"
    # Where the first half already went (the history sent to the LLM), scrub replaces it.
    assert vault.scrub(first) == "my number is [PHONE_1]"
    assert json.loads(vault.restore('{"p": "[PHONE_1]"}')) == {"p": "5551234567"}


def test_the_carry_is_bounded_and_tool_results_do_not_replace_it(vault):
    detector = vault._detector
    vault.redact("x" * 500 + " 555 123")
    vault.redact_obj({"note": "tool text"})
    vault.redact("4567")
    assert len(detector.carries[-1]) <= 64 and detector.carries[-1].endswith("555 123")


def test_scrub_finds_known_values_in_any_written_or_spoken_form(vault):
    vault.redact("555-123-4567")
    assert vault.scrub("(555) 123.4567 / 5551234567 / five five five one two three four "
                       "five six seven") == "([PHONE_1] / [PHONE_1] / [PHONE_1]"
    assert vault.scrub("nothing here 12") == "nothing here 12"


def test_close_wipes_every_value(vault):
    vault.redact("Maria Lopez 555-123-4567")
    vault.close()
    assert vault.size == 0 and vault.closed
    assert vault.restore('{"p": "[PHONE_1]"}') == '{"p": "[PHONE_1]"}'
    assert vault.speakable("[NAME_1]") == "the details you gave"
    assert "Maria" not in repr(vault) and "555" not in repr(vault)
    with pytest.raises(RedactionError):
        vault.redact("more words")


def test_a_detector_fault_becomes_a_redaction_error_without_the_text():
    vault = CallVault(Broken())
    with pytest.raises(RedactionError) as caught:
        vault.redact("my card is 4242 4242 4242 4242")
    assert "4242" not in str(caught.value) and caught.value.__cause__ is None
