"""speakable: markdown and symbols out, words in."""

from __future__ import annotations

import pytest

from voxline.agent.chunker import ClauseChunker
from voxline.agent.speech_text import speakable


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("**Great news!** We have an opening.", "Great news! We have an opening."),
        ("That is __really__ important.", "That is really important."),
        ("Please *do* bring your card.", "Please do bring your card."),
        ("Please _do_ bring your card.", "Please do bring your card."),
        ("***Very*** early, sorry.", "Very early, sorry."),
        ("~~Monday~~ Tuesday works.", "Monday Tuesday works."),
    ],
)
def test_emphasis_markers_removed(raw: str, spoken: str) -> None:
    assert speakable(raw) == spoken


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        ("# Your options", "Your options"),
        ("### Step two: confirm", "Step two: confirm"),
        ("> Bring your ID.", "Bring your ID."),
        ("- Tuesday at 9 a.m.", "Tuesday at 9 a.m."),
        ("* Tuesday at 9 a.m.", "Tuesday at 9 a.m."),
        ("• Tuesday at 9 a.m.", "Tuesday at 9 a.m."),
        ("  + Tuesday at 9 a.m.", "Tuesday at 9 a.m."),
        ("1. Bring your ID.", "Bring your ID."),
        ("2) Bring your card.", "Bring your card."),
        ("12. Last step.", "Last step."),
        ("- **Dr. Lee**: Friday", "Dr. Lee: Friday"),
    ],
)
def test_line_start_markers_removed(raw: str, spoken: str) -> None:
    assert speakable(raw) == spoken


def test_markers_removed_on_every_line() -> None:
    assert speakable("Options:\n- Monday\n- Tuesday\n## Done") == "Options: Monday Tuesday Done"


def test_links_and_urls() -> None:
    assert speakable("Book [on our site](https://clinic.example.com/book).") == (
        "Book on our site."
    )
    assert speakable("Go to https://clinic.example.com/book today.") == (
        "Go to clinic.example.com/book today."
    )
    assert speakable("See http://x.org or ![the map](https://x.org/map.png).") == (
        "See x.org or the map."
    )


def test_code_backticks_and_fences() -> None:
    assert speakable("Call `check_availability` first.") == "Call check_availability first."
    assert speakable("```python") == ""
    assert speakable("```") == ""
    assert speakable("```\nprint(1)\n```") == "print(1)"


@pytest.mark.parametrize("raw", ["---", "***", "___", "* * *", "```", "|---|:---:|", "...", "  ",
                                 "", "🎉🎉", "**", "- "])
def test_nothing_speakable_gives_empty_string(raw: str) -> None:
    assert speakable(raw) == ""


def test_emoji_removed_without_leaving_gaps() -> None:
    assert speakable("You're all set 🎉!") == "You're all set!"
    assert speakable("👍 Done, see you ✨ Tuesday ❤️.") == "Done, see you Tuesday."
    assert speakable("Family 👨‍👩‍👧 visits are fine 👋🏽") == "Family visits are fine"


def test_table_pipes_become_pauses() -> None:
    assert speakable("| Day | Time |") == "Day, Time"
    assert speakable("| Monday | 9 a.m. |") == "Monday, 9 a.m."
    assert speakable("|---|---|") == ""


@pytest.mark.parametrize(
    "text",
    [
        "It's $1,200, or €40.50 a month.",
        "We're open 10:30 a.m. to 5 p.m., e.g. on Tuesdays.",
        "Dr. O'Brien's fee is 3.5% of £200.",
        "I'll call check_availability and book_slot for you.",
        "Call 555-0134 for the front desk.",
        "Bring a photo ID — a driver's license is fine.",
        "It is -5 degrees, so the 10–12 slot is best.",
        "Room #4, St. Mary's wing.",
    ],
)
def test_plain_speech_is_kept_as_is(text: str) -> None:
    assert speakable(text) == text


def test_whitespace_collapsed() -> None:
    assert speakable("  Sure,\n\n  I   can\thelp.  ") == "Sure, I can help."


def test_spaced_hyphen_reads_as_a_pause() -> None:
    assert speakable("Sure - I can do that") == "Sure, I can do that"
    assert speakable("One moment -") == "One moment,"


def test_half_of_an_emphasis_span_cut_by_the_chunker() -> None:
    chunker = ClauseChunker(first_min_words=3, min_words=3)
    text = "**Please bring your ID, your insurance card, and a list of medications.** Thanks."
    out = [c for ch in text for c in chunker.push(ch)] + chunker.flush()
    assert [speakable(c) for c in out] == [
        "Please bring your ID,",
        "your insurance card,",
        "and a list of medications.",
        "Thanks.",
    ]


def test_snake_case_edges_and_stray_underscores() -> None:
    assert speakable("_check_availability_ ran") == "check_availability ran"
    assert speakable("the __init__ step") == "the init step"
