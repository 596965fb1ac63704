"""What the caller heard of a reply, from the TTS segments and the playout position.

On barge-in the context must hold only what reached the caller's ear (see
`Conversation.truncate_last_assistant`); the playout position comes from the transport
(Twilio marks, RTP timestamps, WebRTC track position).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SpokenSegment:
    """One clause sent to TTS, and the duration of the audio it produced."""

    text: str
    duration_ms: float


def _words_heard(text: str, fraction: float) -> list[str]:
    # A word counts once the playout has passed its last character; speech rate is taken
    # as uniform over the characters of the segment.
    words = text.split()
    reached = fraction * len(" ".join(words))
    heard: list[str] = []
    end = -1  # the space before the first word does not exist
    for word in words:
        end += 1 + len(word)
        if end > reached:
            break
        heard.append(word)
    return heard


def heard_text(segments: Sequence[SpokenSegment], played_ms: float) -> str:
    """Text of the segments the caller heard after ``played_ms`` of playout.

    Segments played to the end are kept whole. Of the segment playing when playback stopped,
    the leading words are kept in proportion to the fraction of its audio played, rounded down
    to whole words. That proportion is an estimate by character count (TTS speech rate is not
    truly uniform, and pauses sit at punctuation); a TTS with word timestamps could do better.
    Words are joined with single spaces.
    """
    words: list[str] = []
    start = 0.0
    for segment in segments:
        if played_ms <= start:
            break
        end = start + max(segment.duration_ms, 0.0)
        if played_ms >= end:
            words.extend(segment.text.split())
        else:
            words.extend(_words_heard(segment.text, (played_ms - start) / (end - start)))
            break
        start = end
    return " ".join(words)
