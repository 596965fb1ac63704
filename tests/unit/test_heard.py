"""heard_text: what the caller heard, from TTS segments and the playout position."""

from __future__ import annotations

import dataclasses

import pytest

from voxline.agent.heard import SpokenSegment, heard_text

REPLY = [
    SpokenSegment("Sure, I can book that.", 1200.0),
    SpokenSegment("We have Tuesday at 9:30 a.m.", 1800.0),
    SpokenSegment("Which works for you?", 1000.0),
]


def test_nothing_played() -> None:
    assert heard_text(REPLY, 0.0) == ""
    assert heard_text(REPLY, -50.0) == ""
    assert heard_text([], 5000.0) == ""


def test_whole_segments_at_their_boundaries() -> None:
    assert heard_text(REPLY, 1200.0) == "Sure, I can book that."
    assert heard_text(REPLY, 3000.0) == "Sure, I can book that. We have Tuesday at 9:30 a.m."
    assert heard_text(REPLY, 4000.0) == " ".join(s.text for s in REPLY)


def test_played_past_the_end_gives_everything() -> None:
    assert heard_text(REPLY, 60_000.0) == " ".join(s.text for s in REPLY)


def test_partial_segment_in_proportion_rounded_down() -> None:
    # "We have Tuesday at 9:30 a.m." is 28 characters; "We have Tuesday" ends at 15.
    segment_start = 1200.0
    at = lambda chars: segment_start + 1800.0 * chars / 28  # noqa: E731
    assert heard_text(REPLY, at(14.9)) == "Sure, I can book that. We have"
    assert heard_text(REPLY, at(15.05)) == "Sure, I can book that. We have Tuesday"
    assert heard_text(REPLY, at(1.9)) == "Sure, I can book that."  # "We" not finished
    assert heard_text(REPLY, at(2.05)) == "Sure, I can book that. We"


def test_partial_first_segment() -> None:
    # Half of "Sure, I can book that." (22 characters): up to 11 characters = "Sure, I can".
    assert heard_text(REPLY, 600.0) == "Sure, I can"
    assert heard_text(REPLY, 599.0) == "Sure, I"


def test_words_joined_with_single_spaces() -> None:
    segments = [SpokenSegment("  Hello \n there. ", 100.0), SpokenSegment("How\tare you?", 100.0)]
    assert heard_text(segments, 200.0) == "Hello there. How are you?"


def test_zero_length_segment_does_not_divide_by_zero() -> None:
    segments = [SpokenSegment("Okay.", 0.0), SpokenSegment("Let me see.", 1000.0)]
    assert heard_text(segments, 0.0) == ""
    assert heard_text(segments, 1.0) == "Okay."
    assert heard_text(segments, 1000.0) == "Okay. Let me see."


def test_segment_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        REPLY[0].text = "changed"  # type: ignore[misc]
