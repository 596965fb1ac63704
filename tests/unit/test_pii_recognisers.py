"""Each recogniser and spoken form on its own; turns split mid-number; interim results;
configured identifiers; a failing recogniser."""

from __future__ import annotations

import pytest

from voxline.config import IdentifierPattern, PrivacyDetectionSettings
from voxline.privacy.detect import (
    PiiDetector,
    RedactionError,
    redact_interim,
    redact_text,
)
from voxline.privacy.detect.govid import luhn
from voxline.privacy.detect.numbers import number_runs
from voxline.privacy.detect.tokens import tokenize


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def only(detector: PiiDetector, text: str) -> tuple[str, str, str]:
    (entity,) = detector.find(text)
    assert text[entity.start : entity.end] == entity.text
    return entity.type, entity.text, entity.value


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("five five five oh one two three", "5550123"),
        ("double oh seven", "007"),
        ("triple nine", "999"),
        ("twelve thirty four", "1234"),
        ("nineteen eighty", "1980"),
        ("nineteen oh five", "1905"),
        ("two thousand and five", "2005"),
        ("five hundred fifty five", "555"),
        ("eight hundred five five five", "800555"),
        ("555-0123", "5550123"),
        ("(212) 555-0199", "2125550199"),
    ],
)
def test_spoken_numbers(said: str, digits: str) -> None:
    assert "".join(run.digits for run in number_runs(tokenize(said))) == digits


def test_number_chunks_map_to_the_words_said() -> None:
    tokens = tokenize("call twelve thirty four now")
    (run,) = number_runs(tokens)
    assert [(c.digits, tokens[c.first].text, tokens[c.last].text) for c in run.chunks] == [
        ("12", "twelve", "twelve"),
        ("34", "thirty", "four"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my social is one two three, four five, six seven eight nine",
         ("SSN", "one two three, four five, six seven eight nine", "123456789")),
        ("ssn 123-45-6789", ("SSN", "123-45-6789", "123456789")),
        ("last four of my social are six seven eight nine",
         ("SSN", "six seven eight nine", "6789")),
    ],
)  # fmt: skip
def test_ssn(detector: PiiDetector, text: str, expected: tuple[str, str, str]) -> None:
    assert only(detector, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "my social is nine one two three four five six seven eight",  # 9xx: never issued
        "my social is six six six one two three four five six",  # 666
        "the order is one two three four five six seven eight nine",  # no cue, not 3-2-4
    ],
)
def test_not_an_ssn(detector: PiiDetector, text: str) -> None:
    assert [e.type for e in detector.find(text)] in ([], ["PHONE"])
    assert "SSN" not in {e.type for e in detector.find(text)}


def test_luhn() -> None:
    assert luhn("4111111111111111") and luhn("378282246310005")
    assert not luhn("4111111111111112")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("card four one one one one one one one one one one one one one one one",
         "4111111111111111"),
        ("it's 4111 1111 1111 1111", "4111111111111111"),
        ("amex 3782 822463 10005", "378282246310005"),
    ],
)  # fmt: skip
def test_card(detector: PiiDetector, text: str, value: str) -> None:
    kind, _, got = only(detector, text)
    assert (kind, got) == ("CARD", value)


def test_card_failing_luhn_is_not_a_card(detector: PiiDetector) -> None:
    assert "CARD" not in {e.type for e in detector.find("card 4111 1111 1111 1112")}


@pytest.mark.parametrize(
    ("text", "said", "value"),
    [
        ("my birthday is march third nineteen eighty", "march third nineteen eighty",
         "1980-03-03"),
        ("born on the fourth of july nineteen seventy six",
         "the fourth of july nineteen seventy six", "1976-07-04"),
        ("DOB 3/3/1980", "3/3/1980", "1980-03-03"),
        ("date of birth december 12th, 1954", "december 12th, 1954", "1954-12-12"),
        ("my birthday is march third", "march third", "--03-03"),
        ("born oh three oh three nineteen eighty", "oh three oh three nineteen eighty",
         "1980-03-03"),
        ("it was May 5, 1972 I think", "May 5, 1972", "1972-05-05"),  # an old year: a birth
    ],
)  # fmt: skip
def test_dob(detector: PiiDetector, text: str, said: str, value: str) -> None:
    assert only(detector, text) == ("DOB", said, value)


@pytest.mark.parametrize(
    "text",
    [
        "my appointment is march third",  # no birth cue, no year
        "can i come in may fifth",
        "the appointment is in march",
        "may i speak to a nurse",
        "born february thirtieth nineteen eighty",  # no such day
    ],
)
def test_not_a_dob(detector: PiiDetector, text: str) -> None:
    assert detector.find(text) == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("i live at twelve thirty four elm street", "twelve thirty four elm street"),
        ("123 main street apartment four b please", "123 main street apartment four b"),
        ("1600 Pennsylvania Avenue", "1600 Pennsylvania Avenue"),
        ("p o box four five six", "p o box four five six"),
    ],
)
def test_address(detector: PiiDetector, text: str, said: str) -> None:
    kind, got, _ = only(detector, text)
    assert (kind, got) == ("ADDRESS", said)


@pytest.mark.parametrize(
    "text", ["the clinic on main street", "it's about a two hour drive", "take two pills daily"]
)
def test_not_an_address(detector: PiiDetector, text: str) -> None:
    assert detector.find(text) == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("my name is john smith", "john smith"),
        ("my name is will young", "will young"),  # common words after a strong cue
        ("this is may chen calling", "may chen"),
        ("last name is kowalski k o w a l s k i", "kowalski k o w a l s k i"),
        ("can you book olivia martinez", "olivia martinez"),  # no cue: given + surname
        ("I'm calling about John's results.", "John's"),  # capitalised mid-sentence
        ("its for my husband george", "george"),
    ],
)
def test_name(detector: PiiDetector, text: str, said: str) -> None:
    kind, got, _ = only(detector, text)
    assert (kind, got) == ("NAME", said)


@pytest.mark.parametrize(
    "text",
    [
        "i'm fine thanks",
        "will the doctor see me",
        "april showers bring may flowers",
        "this is about my bill",
        "can you mark that down",
        "Grant access to my records.",  # sentence start: capitals mean nothing
    ],
)
def test_not_a_name(detector: PiiDetector, text: str) -> None:
    assert detector.find(text) == []


def test_default_identifiers(detector: PiiDetector) -> None:
    assert only(detector, "my mrn is m r one two three four five six")[::2] == (
        "MRN",
        "MR123456",
    )
    assert only(detector, "member id x y z one two three four five six seven")[::2] == (
        "MEMBER_ID",
        "XYZ1234567",
    )
    assert detector.find("one two three four five six") == []  # no cue, no identifier


def test_configured_identifier_without_cue() -> None:
    config = PrivacyDetectionSettings(
        types=[],
        identifiers=[IdentifierPattern(type="CLAIM", pattern=r"CL\d{6}", require_cue=False)],
    )
    found = PiiDetector(config).find("claim CL-123456 was denied")
    assert [(e.type, e.text, e.value) for e in found] == [("CLAIM", "CL-123456", "CL123456")]


def test_identifier_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="upper-case"):
        IdentifierPattern(type="mrn", pattern=r"\d+", cues=["mrn"])
    with pytest.raises(ValueError, match="lists none"):
        IdentifierPattern(type="MRN", pattern=r"\d+")
    with pytest.raises(ValueError, match="unknown PII types"):
        PrivacyDetectionSettings(types=["PHONES"])


def test_digits_split_across_two_turns(detector: PiiDetector) -> None:
    carry = "hi, my number is five five five"
    text = "oh one two three, thanks"
    (entity,) = detector.find(text, carry=carry)
    assert (entity.type, entity.text, entity.value) == ("PHONE", "oh one two three", "5550123")
    start, end = entity.carry_span
    assert carry[start:end] == "five five five"
    # Within one turn, no carry_span.
    (whole,) = detector.find(carry + " " + text)
    assert whole.carry_span is None and whole.value == "5550123"


def test_email_split_across_turns(detector: PiiDetector) -> None:
    carry = "my email is john dot smith"
    (entity,) = detector.find("at gmail dot com", carry=carry)
    assert entity.value == "john.smith@gmail.com"
    assert carry[slice(*entity.carry_span)] == "john dot smith"


def test_entities_wholly_in_the_carry_are_not_repeated(detector: PiiDetector) -> None:
    assert detector.find("thanks", carry="my number is 555-0123") == []


def test_long_carry_only_its_tail_is_read(detector: PiiDetector) -> None:
    carry = "john smith " + "and then we talked about it " * 10 + "my number is five five five"
    (entity,) = detector.find("oh one two three", carry=carry)
    assert carry[slice(*entity.carry_span)] == "five five five"


def test_interim_masks_what_may_still_be_pii(detector: PiiDetector) -> None:
    assert redact_interim("my card is four one one one", detector) == "my card is […]"
    assert redact_interim("my name is j o", detector) == "my name is […]"
    assert redact_interim("this is mary jones", detector) == "this is [NAME_1]"
    assert redact_interim("see you at noon", detector) == "see you at noon"


def test_overlaps_merge_so_nothing_is_left_over(detector: PiiDetector) -> None:
    # "john smith" (a name) runs into the email's local part: one placeholder covers both.
    text = "email john smith at gmail dot com"
    assert redact_text(text, detector) == "email [EMAIL_1]"


def test_text_without_pii_is_unchanged(detector: PiiDetector) -> None:
    for text in ["", "   ", "ok.", "Thanks!! See you at 2:30 p.m., right?", "é ü 名前"]:
        assert redact_text(text, detector) == text


def test_a_recogniser_fault_is_a_redaction_error_without_the_text(
    detector: PiiDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(utt: object) -> list:
        raise ValueError("secret 555-0123")

    monkeypatch.setattr(detector, "_recognisers", [broken])
    with pytest.raises(RedactionError) as info:
        detector.find("my number is 555-0123")
    assert "555" not in str(info.value) and "ValueError" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_entity_repr_hides_the_value(detector: PiiDetector) -> None:
    (entity,) = detector.find("my ssn is 123-45-6789")
    assert "6789" not in repr(entity)
