"""Cut a streaming LLM reply into clauses, so TTS can start on the first one.

Rules, in the order they are applied to the text not yet released:

1. A newline ends a clause at once (lists, paragraphs); whitespace-only pieces are dropped.
2. A punctuation mark is a boundary only when the next character (after any closing quote,
   bracket or markdown emphasis marker) is whitespace. So "3.5", "10:30", "$1,200", e-mail
   addresses and URLs are never split, and a mark at the very end of the buffer waits for the
   next token before anything is decided.
3. A sentence end (. ! ? …) always releases, unless the word it ends is an abbreviation:
   titles and "e.g." never end a sentence; "a.m.", "etc.", "No." and the like end one only
   when the next word starts with a capital letter ("No. 4" and "10 a.m. and" stay whole).
4. A comma-type mark (, ; : and a dash) releases once the clause has enough words:
   ``first_min_words`` for the first clause of the reply, so speech starts early,
   ``min_words`` afterwards, so later clauses are not choppy.
5. With ``max_words`` complete words and no boundary, the clause is cut after the last of them.
"""

from __future__ import annotations

import re

_SENTENCE_END = frozenset(".!?…")
_SOFT = frozenset(",;:—–-")
# What may sit between a mark and the whitespace after it: closing quotes and brackets, and
# markdown emphasis closing ("**Note:** ...").
_CLOSERS = frozenset("\"')]}”’»*_`")
_OPENERS = "\"'([{“‘«*_`"

# Words whose final period never ends a sentence: titles and Latin abbreviations always
# precede more words.
_NEVER_END = frozenset(
    {"dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "mt.", "ft.", "e.g.", "i.e.", "vs.", "approx."}
    | {"dept.", "appt.", "cf.", "fig."}
)
# Words whose period ends a sentence only when a capitalised word follows.
_MAYBE_END = frozenset(
    {"a.m.", "p.m.", "etc.", "no.", "jr.", "sr.", "inc.", "ltd.", "co.", "ave.", "rd.", "blvd."}
)
# Dotted initialisms ("u.s.", "a.m.") and single initials ("J.") that are not listed above.
_DOTTED = re.compile(r"^(?:[a-z]\.){2,}$")
_INITIAL = re.compile(r"^[A-Z]\.$")

_WAIT = -1  # not decidable until more text arrives
_NO = 0  # not a boundary


def _count_words(text: str) -> int:
    # A lone "-" or "**" is not a word a listener hears.
    return sum(1 for w in text.split() if any(ch.isalnum() for ch in w))


class ClauseChunker:
    """Turns LLM tokens into speakable clauses as early as is natural.

    >>> c = ClauseChunker()
    >>> c.push("Sure, I can help.") + c.push(" What day?") + c.flush()
    ['Sure, I can help.', 'What day?']
    """

    def __init__(self, first_min_words: int = 3, min_words: int = 6, max_words: int = 30) -> None:
        if max_words < 1:
            raise ValueError(f"max_words must be at least 1, got {max_words}")
        self.first_min_words = first_min_words
        self.min_words = min_words
        self.max_words = max_words
        self.reset()

    def reset(self) -> None:
        """Forget everything; the next clause is treated as the first of a reply."""
        self._buf = ""
        self._scan = 0  # characters before this index are known not to be boundaries
        self._released = 0

    def push(self, token: str) -> list[str]:
        """Add one streamed token; return the clauses it completed, in order, stripped."""
        self._buf += token
        out: list[str] = []
        while (cut := self._next_cut()) is not None:
            clause = self._buf[:cut].strip()
            self._buf = self._buf[cut:]
            self._scan = 0
            if clause:
                out.append(clause)
                self._released += 1
        return out

    def flush(self) -> list[str]:
        """End of the reply: return what is left, and get ready for the next reply."""
        rest = self._buf.strip()
        self.reset()
        return [rest] if rest else []

    # -- scanning ---------------------------------------------------------------------------

    def _next_cut(self) -> int | None:
        """Index just past the next clause in the buffer, or None if no clause is complete."""
        # Whichever comes first in the text, so the clauses do not depend on how the text
        # was split into tokens.
        limit = self._word_limit_cut()
        end = len(self._buf) if limit is None else limit
        cut = self._boundary_cut(end)
        return cut if cut is not None else limit

    def _boundary_cut(self, end: int) -> int | None:
        """First boundary among the marks before ``end``, if one is decided."""
        buf = self._buf
        i = self._scan
        while i < end:
            ch = buf[i]
            if ch == "\n":
                return i + 1
            if ch in _SENTENCE_END or ch in _SOFT:
                cut = self._decide(i)
                if cut == _WAIT:
                    break
                if cut != _NO:
                    return cut
            i += 1
        self._scan = i  # resume here: everything before is decided
        return None

    def _decide(self, i: int) -> int:
        """Is the mark at ``buf[i]`` a clause boundary? Returns a cut index, _NO or _WAIT."""
        buf = self._buf
        ch = buf[i]
        j = i + 1
        while j < len(buf) and buf[j] in _CLOSERS:
            j += 1
        if ch == "-" and (i == 0 or not buf[i - 1].isspace()):
            return _NO  # "check-in", "-5": a hyphen is a dash only with space before it
        if j == len(buf):
            return _WAIT
        if ch == "—" and buf[j].isalpha():
            pass  # an em dash is often written unspaced: "I can help—what day?"
        elif not buf[j].isspace():
            return _NO
        if ch in _SOFT:
            words = _count_words(buf[:j])
            need = self.first_min_words if self._released == 0 else self.min_words
            return j if words >= max(1, need) else _NO
        if _count_words(buf[:j]) == 0:
            return _NO  # "..." alone: let it join the next clause
        if ch == ".":
            return self._decide_period(i, j)
        return j

    def _decide_period(self, i: int, j: int) -> int:
        buf = self._buf
        start = i
        while start > 0 and not buf[start - 1].isspace():
            start -= 1
        word = buf[start : i + 1].lstrip(_OPENERS)
        low = word.lower()
        if low in _NEVER_END or _INITIAL.match(word):
            return _NO
        if low in _MAYBE_END or _DOTTED.match(low):
            k = j
            while k < len(buf) and buf[k].isspace():
                if buf[k] == "\n":
                    return j  # a line break after "9 a.m." ends the clause anyway
                k += 1
            if k == len(buf):
                return _WAIT
            return j if buf[k].isupper() else _NO
        return j

    def _word_limit_cut(self) -> int | None:
        """Cut after the ``max_words``-th complete word, when there is one."""
        count = 0
        for m in re.finditer(r"\S+(?=\s)", self._buf):
            if any(ch.isalnum() for ch in m.group()):
                count += 1
                if count >= self.max_words:
                    return m.end()
        return None
