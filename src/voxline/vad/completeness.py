"""Does a transcript read as a finished turn? Pure text rules, no model, no I/O.

The endpointer only hears silence. This judges *what* was said so far, so a silence after a
finished sentence ("Are you open on Saturday?") may end the turn sooner than one after a
sentence that is plainly going on ("I'd like to book a cleaning for, um"). It only ever
*shortens* the wait: an unfinished-looking transcript keeps the full trailing-silence window.

Rules, in order (the first that applies decides):

1. No words: unfinished (nothing to answer yet; keep listening).
2. Ends with a continuation mark: comma, dash, ellipsis, colon or semicolon: unfinished.
3. Ends with a word that needs something after it: a conjunction ("and", "because"), an
   article or determiner ("the", "my"), a preposition ("for", "at"), a filler ("um", "uh") or
   a subject ("I", "we're"): unfinished. So does an auxiliary or copula ("is", "can"), unless a
   pronoun comes right before it ("Yes, I do.", "I think it is."): that is an elliptical
   answer. So "my number is" and "I'd like to book it for the" hold the window; "I think so",
   "I hope so" do not (checked first).
4. Ends with a phrase that announces more: "let me think", "I was wondering", "hold on",
   "you know", "I mean": unfinished.
5. Spelling or digits still coming: the last two words are single letters ("J O H N"), or the
   utterance announces a number ("phone", "number", "zip") and ends in fewer digits than that
   kind of number has (10, 5): unfinished.
6. Otherwise: finished. A question mark or a full stop does not add confidence: STT engines
   punctuate any audio they are given, so "I'd like to book a cleaning." is also what they
   write at a mid-sentence pause. That limit is measured in docs/endpointing.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CONJUNCTIONS = _words(
    "and or but so because cause cuz if although unless while whereas whether which whom "
    "whose nor plus"
)
ARTICLES_AND_DETERMINERS = _words(
    "a an the my your his her our their its these those some every each another such"
)
PREPOSITIONS = _words(
    "to for of in on at with from by about around after before until till into onto between "
    "than like near over under through during without within per via"
)
FILLERS = _words("um umm uh uhh er erm hmm mm ah eh")
AUXILIARIES = _words(
    "is are was were am be been being have has had do does did can could would will shall "
    "should might must may"
)
# Subject pronouns, alone or contracted with a verb: the predicate is still to come.
SUBJECTS = _words(
    "i we he she they i'm i'd i'll i've we're we'd we'll you're they're he's she's there's "
    "it's that's what's"
)
# After these an auxiliary ends an elliptical answer: "Yes, I do.", "No, it isn't." is fine.
ELLIPSIS_SUBJECTS = _words("i we you he she they it that there this")
HOLD_WORDS = CONJUNCTIONS | ARTICLES_AND_DETERMINERS | PREPOSITIONS | FILLERS | SUBJECTS
# "so" ends these without asking for more.
FINISHED_ENDINGS = ("think so", "hope so", "guess so", "believe so", "said so", "and so on")
HOLD_PHRASES = (
    "let me think",
    "let me see",
    "let me check",
    "let me just",
    "i was wondering",
    "i wonder",
    "hold on",
    "one second",
    "one moment",
    "you know",
    "i mean",
    "i think",
    "i guess",
    "kind of",
    "sort of",
)
# Words that announce a number, and how many digits make it whole.
NUMBER_CUES = {"phone": 10, "number": 10, "digits": 10, "zip": 5}
CONTINUATION_MARKS = (",", "-", "\u2014", "\u2013", "...", "\u2026", ":", ";")
# Digits each spoken word adds; "double five" is two fives.
DIGIT_WORDS = dict.fromkeys(_words("zero oh one two three four five six seven eight nine"), 1)
DIGIT_WORDS |= {"double": 1, "triple": 2}

_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Completeness:
    finished: bool
    reason: str  # which rule decided, for logs and the benchmark


def judge(text: str) -> Completeness:
    """Judge whether `text` (a transcript so far) reads as a finished turn."""
    stripped = text.strip()
    words = _WORD.findall(stripped.lower().replace("\u2019", "'"))
    if not words:
        return Completeness(False, "no words")
    if stripped.endswith(CONTINUATION_MARKS):
        return Completeness(False, "continuation mark")
    last = words[-1]
    tail = " ".join(words[-4:])
    if any(tail == end or tail.endswith(" " + end) for end in FINISHED_ENDINGS):
        return Completeness(True, "finished")
    if last in HOLD_WORDS:
        return Completeness(False, f"ends with {last!r}")
    if last in AUXILIARIES and not (len(words) >= 2 and words[-2] in ELLIPSIS_SUBJECTS):
        return Completeness(False, f"ends with {last!r}")
    for phrase in HOLD_PHRASES:
        if tail == phrase or tail.endswith(" " + phrase):
            return Completeness(False, f"ends with {phrase!r}")
    if len(words) >= 2 and all(len(w) == 1 and w.isalpha() for w in words[-2:]):
        return Completeness(False, "spelling")
    for cue, whole in NUMBER_CUES.items():
        if cue in words:
            digits = _trailing_digits(words)
            if 0 < digits < whole:
                return Completeness(False, f"{digits} of {whole} digits of a {cue}")
            break
    return Completeness(True, "finished")


def _trailing_digits(words: list[str]) -> int:
    """Digits in the run of digit groups and digit words that ends the utterance."""
    count = 0
    for word in reversed(words):
        if word.isdigit():
            count += len(word)
        elif word in DIGIT_WORDS:
            count += DIGIT_WORDS[word]
        else:
            break
    return count
