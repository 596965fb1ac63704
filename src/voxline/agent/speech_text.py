"""Turn one clause of LLM output into the words a TTS should say.

LLMs write for screens: markdown, links, emoji, tables. A TTS reads those literally
("asterisk asterisk", "h t t p s colon"). `speakable` removes the markup and keeps the words.
It works on a single clause from the chunker, so markup may be cut in half ("**Bring your ID,"):
paired markers are removed first, then any stray ones.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"(`{3,}|~{3,})[\w+#.-]*")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SCHEME = re.compile(r"\b(?:https?|ftp)://", re.IGNORECASE)

# Line-start markers, applied to each line in this order.
_RULE = re.compile(r"^\s*([-*_=])(?:\s*\1){2,}\s*$")  # --- *** ___ ===
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_HEADING = re.compile(r"^\s*#{1,6}(?:\s+|$)")
_BULLET = re.compile(r"^\s*[-*+•‣◦▪]\s+")
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+")
_TABLE_CELL_RULE = re.compile(r"^\s*:?-+:?\s*$")

# Emphasis. Underscores count only at word edges, so "check_availability" keeps its own.
_STRONG = re.compile(r"(?<![\w*])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_EM = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_STRIKE = re.compile(r"~~")
_STRAY_STAR = re.compile(r"\*+")
_STRAY_UNDERSCORE = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")  # not between two letters/digits
_BACKTICK = re.compile(r"`+")

_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags, skin tones
    "\u2600-\u27bf"  # misc symbols and dingbats (☀ ✓ ✨)
    "\u2b00-\u2bff"  # arrows and stars (⭐ ⬆)
    "\u231a\u231b\u23e9-\u23fa\u3030\u303d\u3297\u3299"
    "\ufe0e\ufe0f\u200d\u20e3"  # variation selectors, zero-width joiner, keycap
    "]+"
)
_LOOSE_HYPHEN = re.compile(r"\s+-+(?=\s|$)")  # "Sure - I can" reads better as "Sure, I can"
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])(?=\s|$)")
_SPACES = re.compile(r"\s+")


def _table_row(line: str) -> str:
    # "| Monday | 9 a.m. |" -> "Monday, 9 a.m.": a comma gives the TTS a pause between cells.
    cells = [c.strip() for c in line.split("|")]
    cells = [c for c in cells if c and not _TABLE_CELL_RULE.match(c)]
    return ", ".join(cells)


def _line(line: str) -> str:
    if _RULE.match(line):
        return ""
    if "|" in line:
        line = _table_row(line)
    line = _QUOTE.sub("", line)
    line = _HEADING.sub("", line)
    line = _BULLET.sub("", line)
    return _NUMBERED.sub("", line)


def speakable(text: str) -> str:
    """Return what a TTS should say for one clause of LLM output; "" if nothing is left.

    >>> speakable("**Sure!** See [our site](https://x.org) 😊")
    'Sure! See our site'
    """
    text = _FENCE.sub(" ", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _SCHEME.sub("", text)
    text = "\n".join(_line(line) for line in text.splitlines())
    text = _STRONG.sub(r"\2", text)
    text = _EM.sub(r"\2", text)
    text = _STRIKE.sub("", text)
    text = _STRAY_STAR.sub("", text)
    text = _STRAY_UNDERSCORE.sub("", text)
    text = _BACKTICK.sub("", text)
    text = _EMOJI.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    text = _LOOSE_HYPHEN.sub(",", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if not any(ch.isalnum() for ch in text):
        return ""  # "---", "```", "...": nothing a listener would hear
    return text
