"""Phone and email recognisers: written and spoken forms, offsets, normalised values."""

import pytest

from voxline.privacy.detect import PiiDetector, RedactionError, redact_text


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


@pytest.mark.parametrize(
    ("text", "said", "value"),
    [
        (
            "my number is five five five, oh one two three",
            "five five five, oh one two three",
            "5550123",
        ),
        ("call me at (212) 555-0199 thanks", "(212) 555-0199", "2125550199"),
        ("it's 1-800-555-1234", "1-800-555-1234", "18005551234"),
        (
            "eight hundred five five five one two one two",
            "eight hundred five five five one two one two",
            "8005551212",
        ),
        (
            "two one two double five five oh one nine nine",
            "two one two double five five oh one nine nine",
            "2125550199",
        ),
        (
            "plus four four two oh seven nine four six oh nine five eight",
            "plus four four two oh seven nine four six oh nine five eight",
            "+442079460958",
        ),
        (
            "four one five, five five five, twenty six seventy one",
            "four one five, five five five, twenty six seventy one",
            "4155552671",
        ),
    ],
)
def test_phone_forms(detector: PiiDetector, text: str, said: str, value: str) -> None:
    (entity,) = detector.find(text)
    assert entity.type == "PHONE"
    assert entity.text == said
    assert text[entity.start : entity.end] == said
    assert entity.value == value


@pytest.mark.parametrize(
    "text",
    [
        "i need two appointments",
        "take five hundred milligrams twice a day",
        "see you at two thirty",
        "the copay is one hundred and twenty five dollars",
        "we open at 9:30 and close at 5:00",
        "it costs $1,250.00",
    ],
)
def test_not_a_phone(detector: PiiDetector, text: str) -> None:
    assert detector.find(text) == []


@pytest.mark.parametrize(
    ("text", "said", "value"),
    [
        (
            "email is john dot smith at gmail dot com",
            "john dot smith at gmail dot com",
            "john.smith@gmail.com",
        ),
        ("It's John.Smith@Gmail.com.", "John.Smith@Gmail.com", "john.smith@gmail.com"),
        (
            "jsmith eighty four at yahoo dot com",
            "jsmith eighty four at yahoo dot com",
            "jsmith84@yahoo.com",
        ),
        ("it's j o h n at gmail dot com please", "j o h n at gmail dot com", "john@gmail.com"),
        (
            "mary underscore jones at clinic dot org",
            "mary underscore jones at clinic dot org",
            "mary_jones@clinic.org",
        ),
        ("send it to bob at example.com", "bob at example.com", "bob@example.com"),
    ],
)
def test_email_forms(detector: PiiDetector, text: str, said: str, value: str) -> None:
    (entity,) = detector.find(text)
    assert (entity.type, entity.text, entity.value) == ("EMAIL", said, value)


def test_at_without_a_domain_is_not_an_email(detector: PiiDetector) -> None:
    assert detector.find("meet me at the clinic at noon dot") == []


def test_number_split_across_turns(detector: PiiDetector) -> None:
    carry = "my number is five five five"
    (entity,) = detector.find("oh one two three", carry=carry)
    assert (entity.type, entity.start, entity.end, entity.value) == ("PHONE", 0, 16, "5550123")
    assert carry[slice(*entity.carry_span)] == "five five five"


def test_redaction_keeps_everything_else(detector: PiiDetector) -> None:
    text = "call 555-0123, or 555-0123 again, or mail bob at example.com."
    assert redact_text(text, detector) == "call [PHONE_1], or [PHONE_1] again, or mail [EMAIL_1]."
    assert redact_text("no personal data here", detector) == "no personal data here"


def test_bad_input_is_a_typed_error(detector: PiiDetector) -> None:
    with pytest.raises(RedactionError):
        detector.find(None)  # type: ignore[arg-type]
