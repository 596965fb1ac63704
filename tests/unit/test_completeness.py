"""The transcript-completeness judge that lets the endpointer end a finished turn sooner."""

from __future__ import annotations

import pytest

from voxline.vad.completeness import judge


@pytest.mark.parametrize(
    "text",
    [
        "Are you open on Saturday?",
        "Hi, what are your opening hours?",
        "I'd like to book a cleaning for next Tuesday.",
        "My name is Maria Lopez.",
        "Yes.",
        "No",
        "Thank you.",
        "Yes, I do.",
        "I think it is.",
        "I think so.",
        "I hope so",
        "I'll take it.",
        "My number is 555-212-4478.",
        "My phone number is five five five two one two four four seven eight",
        "The zip is 02139.",
        "Great, thank you very much. Goodbye.",
    ],
)
def test_finished_utterances(text):
    verdict = judge(text)
    assert verdict.finished, verdict.reason


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "no words"),
        ("   ", "no words"),
        ("...", "no words"),
        ("I'd like to book a cleaning,", "continuation mark"),
        ("I'd like to book a cleaning for next Tuesday and", "ends with 'and'"),
        ("Can I come in, um", "ends with 'um'"),
        ("Uh.", "ends with 'uh'"),
        ("I'd like to book it for the", "ends with 'the'"),
        ("It's for my", "ends with 'my'"),
        ("I was hoping to come in at", "ends with 'at'"),
        ("My number is", "ends with 'is'"),
        ("My number is.", "ends with 'is'"),
        ("So.", "ends with 'so'"),
        ("Because", "ends with 'because'"),
        ("Tomorrow I'm", "ends with \"i'm\""),
        ("Let me think.", "ends with 'let me think'"),
        ("Hmm, I was wondering.", "ends with 'i was wondering'"),
        ("My name is Sarah Johnson, that's J O H N", "spelling"),
        ("My number is 555 212.", "6 of 10 digits of a number"),
        ("My phone is five five five", "3 of 10 digits of a phone"),
        ("My phone is double five, triple two", "5 of 10 digits of a phone"),
        ("I'd like to book a cleaning \u2014", "continuation mark"),
    ],
)
def test_unfinished_utterances_say_why(text, reason):
    verdict = judge(text)
    assert not verdict.finished
    assert verdict.reason == reason


def test_curly_apostrophes_are_read_like_straight_ones():
    assert judge("Tomorrow I\u2019m").reason == "ends with \"i'm\""


def test_a_number_cue_without_trailing_digits_is_judged_on_its_words():
    assert judge("I lost my insurance number.").finished
