"""ClauseChunker: clauses out of streamed LLM tokens, first one early, no bad splits."""

from __future__ import annotations

import pytest

from voxline.agent.chunker import ClauseChunker


def feed(chunker: ClauseChunker, tokens: list[str]) -> list[tuple[int, str]]:
    """Push tokens one by one; return (index of the token that released it, clause)."""
    released: list[tuple[int, str]] = []
    for index, token in enumerate(tokens):
        released.extend((index, clause) for clause in chunker.push(token))
    released.extend((len(tokens), clause) for clause in chunker.flush())
    return released


def clauses(tokens: list[str], **kwargs: int) -> list[str]:
    return [clause for _, clause in feed(ClauseChunker(**kwargs), tokens)]


def chars(text: str) -> list[str]:
    """The harshest tokenizer: one character per token."""
    return list(text)


BOOKING_REPLY = [
    "Sure", ",", " I", " can", " book", " that", ".", " We", " have", " openings", " at",
    " 10", ":", "30", " a", ".m", ". and", " 2", ":", "15", " p", ".m", ".", " Dr", ".",
    " Smith", " will", " see", " you", ",", " and", " the", " visit", " costs", " $", "1",
    ",", "200", ".", " Which", " works", " better", " for", " you", "?",
]


def test_booking_reply_is_cut_into_exact_clauses() -> None:
    assert clauses(BOOKING_REPLY) == [
        "Sure, I can book that.",
        "We have openings at 10:30 a.m. and 2:15 p.m.",
        "Dr. Smith will see you, and the visit costs $1,200.",
        "Which works better for you?",
    ]


def test_first_sentence_released_on_the_next_token_not_at_the_end() -> None:
    released = feed(ClauseChunker(), BOOKING_REPLY)
    index, first = released[0]
    assert first == "Sure, I can book that."
    assert BOOKING_REPLY[index] == " We"  # the token right after the period


def test_first_clause_released_at_a_comma_once_it_has_first_min_words() -> None:
    tokens = ["Let", " me", " check", " the", " calendar", ",", " one", " moment", " please",
              ",", " while", " I", " look", "."]
    released = feed(ClauseChunker(first_min_words=3, min_words=6), tokens)
    assert released[0] == (6, "Let me check the calendar,")
    # The second comma follows only 3 words: below min_words, so it waits for the period.
    assert [c for _, c in released] == [
        "Let me check the calendar,",
        "one moment please, while I look.",
    ]


def test_short_opening_before_comma_is_not_released_alone() -> None:
    assert clauses(["Sure", ",", " no", " problem", " at", " all", "."]) == [
        "Sure, no problem at all."
    ]


def test_later_comma_needs_min_words() -> None:
    text = ("Okay, thanks so much. I have booked you for Tuesday morning, "
            "and you get a text, soon.")
    assert clauses(chars(text), first_min_words=3, min_words=6) == [
        "Okay, thanks so much.",
        "I have booked you for Tuesday morning,",
        "and you get a text, soon.",  # 5 words before that comma: below min_words
    ]


@pytest.mark.parametrize("mark", [";", ":", " -", " —", "—"])
def test_other_comma_type_marks(mark: str) -> None:
    text = f"One moment while I check{mark} then I will be right back."
    assert clauses(chars(text)) == [f"One moment while I check{mark}",
                                    "then I will be right back."]


def test_unspaced_em_dash_is_a_boundary_before_a_word() -> None:
    assert clauses(chars("One moment while I check—then I will be right back.")) == [
        "One moment while I check—", "then I will be right back."
    ]
    # Before a number it is a range, not a pause.
    assert clauses(chars("We are open from nine—5 on weekdays.")) == [
        "We are open from nine—5 on weekdays."
    ]


def test_hyphen_is_a_dash_only_with_space_before() -> None:
    assert clauses(chars("We can do a 2- or 3-hour visit, whichever you prefer.")) == [
        "We can do a 2- or 3-hour visit,", "whichever you prefer."
    ]


def test_sentence_end_always_releases_even_one_word() -> None:
    assert clauses(chars("Yes! Absolutely. Okay? Done.")) == ["Yes!", "Absolutely.", "Okay?",
                                                               "Done."]


def test_boundary_waits_for_the_next_token() -> None:
    chunker = ClauseChunker()
    assert chunker.push("We open at 9.") == []  # could still become "9.30"
    assert chunker.push("30 on Mondays. ") == ["We open at 9.30 on Mondays."]


@pytest.mark.parametrize(
    "text",
    [
        "The copay is 3.5 percent of the total bill today",
        "Your appointment is at 10:30 on Tuesday with us",
        "Please bring documents, e.g. an insurance card and ID",
        "I will ask Dr. Smith and Mrs. Jones to call you back",
        "Mr. Brown and Ms. Lee are both available this week",
        "We open at 8 a.m. and close at 6 p.m. on weekdays here",
        "The clinic is on Main St. near the park entrance gate",
        "Please go to room No. 4 on the second floor today",
        "Write to front.desk@clinic-example.com with your questions",
        "Book online at https://clinic.example.com/book?day=tue now",
        "The total comes to $1,200 for the whole course of treatment",
        "You can check-in online and the drive takes 10–15 minutes",
        "The specialist, J. R. Miller, can see you then",
    ],
)
def test_protected_cases_are_never_split(text: str) -> None:
    # Long thresholds, so only a wrongly detected sentence end could split the text.
    assert clauses(chars(text + "."), first_min_words=30, min_words=30) == [text + "."]


def test_abbreviation_that_ends_a_sentence_splits_before_a_capital() -> None:
    text = "We close at 6 p.m. See you then. Answer: No. We are closed."
    assert clauses(chars(text), first_min_words=30, min_words=30) == [
        "We close at 6 p.m.", "See you then.", "Answer: No.", "We are closed."
    ]


def test_closing_quote_or_bracket_after_the_mark_stays_with_the_clause() -> None:
    text = 'She said "yes." Then (as planned.) We left.'
    assert clauses(chars(text)) == ['She said "yes."', "Then (as planned.)", "We left."]


def test_markdown_emphasis_after_the_mark_stays_with_the_clause() -> None:
    assert clauses(chars("**Important:** bring your photo ID and card.")) == [
        "**Important:** bring your photo ID and card."
    ]
    assert clauses(chars("**Please note.** Bring your ID.")) == ["**Please note.**",
                                                                  "Bring your ID."]


def test_newline_is_a_boundary_for_lists() -> None:
    tokens = ["Here", " are", " the", " times", ":\n", "-", " 9", " a", ".m", ".\n", "- 11",
              " a.m.", "\n\n", "Which", " one", "?"]
    assert clauses(tokens) == ["Here are the times:", "- 9 a.m.", "- 11 a.m.", "Which one?"]


def test_newline_released_when_it_arrives() -> None:
    chunker = ClauseChunker()
    assert chunker.push("Options") == []
    assert chunker.push("\n") == ["Options"]


def test_ellipsis_alone_does_not_make_an_empty_clause() -> None:
    assert clauses(chars("Well... let me see. ... Okay.")) == ["Well...", "let me see.",
                                                                "... Okay."]


def test_max_words_without_punctuation_cuts_at_last_word_boundary() -> None:
    words = [f"w{i}" for i in range(25)]
    tokens = [" " + w for w in words]
    released = feed(ClauseChunker(max_words=10), tokens)
    assert [c for _, c in released] == [
        " ".join(words[0:10]), " ".join(words[10:20]), " ".join(words[20:25])
    ]
    # The tenth word is complete only when the space of the next token arrives.
    assert released[0][0] == 10


def test_max_words_never_cuts_inside_a_word() -> None:
    tokens = ["alpha", " bet", "a", " gam", "ma", " del", "ta"]
    assert clauses(tokens, max_words=2) == ["alpha beta", "gamma delta"]


def test_flush_returns_the_rest_stripped() -> None:
    chunker = ClauseChunker()
    assert chunker.push("Thanks for calling.") == []  # "." is at the end of the token
    assert chunker.push(" Good") == ["Thanks for calling."]
    assert chunker.push("bye") == []
    assert chunker.flush() == ["Goodbye"]
    assert chunker.flush() == []


def test_flush_of_whitespace_is_empty() -> None:
    chunker = ClauseChunker()
    chunker.push("Done. ")
    assert chunker.push("  \n ") == []
    assert chunker.flush() == []


def test_flush_releases_a_pending_abbreviation() -> None:
    chunker = ClauseChunker()
    assert chunker.push("See you at 9 a.m. ") == []  # waiting: "a.m." may go on
    assert chunker.flush() == ["See you at 9 a.m."]


def test_flush_starts_a_new_reply_with_first_clause_rules() -> None:
    chunker = ClauseChunker(first_min_words=3, min_words=6)
    text = "One two three, four. Five six seven, eight."
    out = [c for ch in text for c in chunker.push(ch)] + chunker.flush()
    assert out == ["One two three,", "four.", "Five six seven, eight."]
    # After flush, the next reply's first clause may again be short.
    again = [c for ch in "Ok one two, three." for c in chunker.push(ch)] + chunker.flush()
    assert again == ["Ok one two,", "three."]


def test_reset_drops_pending_text() -> None:
    chunker = ClauseChunker()
    chunker.push("This was cut off by a barge")
    chunker.reset()
    assert chunker.push("New reply. ") == ["New reply."]
    assert chunker.flush() == []


def test_token_split_inside_punctuation_and_spaces() -> None:
    # Tokenizers glue punctuation to the next word (". and", ".\n") or split numbers.
    tokens = ["Your", " total", " is", " $", "4", "2", ".", "5", "0", ". Pay", " at", " the",
              " desk", ".", "\n"]
    assert clauses(tokens) == ["Your total is $42.50.", "Pay at the desk."]


def test_rejects_max_words_below_one() -> None:
    with pytest.raises(ValueError):
        ClauseChunker(max_words=0)


LONG_REPLY = (
    "Of course! I can help with that. Dr. Patel has openings on Tuesday at 9:30 a.m., "
    "Wednesday at 2 p.m., and Friday at 11:15 a.m. The visit is about 45 minutes; the copay "
    "is $25.50, e.g. for a standard check-up. You can also book online at "
    "https://greenway.example.com/book or e-mail front.desk@greenway.example.com.\n"
    "Here is what to bring:\n- A photo ID\n- Your insurance card, and a list of your current "
    "medications if you take any at all on a regular basis such as blood pressure pills or "
    "vitamins or anything else your doctor prescribed to you in the last year\n"
    "Which day works best for you? I'll hold it for 10 minutes — no pressure."
)


def random_tokens(text: str, seed: int) -> list[str]:
    """Split text at random points, like a tokenizer would, but harsher."""
    import random

    rng = random.Random(seed)
    tokens, i = [], 0
    while i < len(text):
        n = rng.randint(1, 6)
        tokens.append(text[i : i + n])
        i += n
    return tokens


@pytest.mark.parametrize("seed", range(25))
def test_clauses_do_not_depend_on_tokenization(seed: int) -> None:
    expected = clauses(chars(LONG_REPLY), max_words=12)
    assert clauses(random_tokens(LONG_REPLY, seed), max_words=12) == expected
    assert clauses([LONG_REPLY], max_words=12) == expected


def test_no_text_lost_and_limits_kept() -> None:
    out = clauses(chars(LONG_REPLY), max_words=12)
    assert " ".join(out).split() == LONG_REPLY.split()
    assert all(c == c.strip() and c for c in out)
    # A lone "-" is not a word: max_words counts what a listener hears.
    assert all(sum(any(ch.isalnum() for ch in w) for w in c.split()) <= 12 for c in out)
    assert any(sum(any(ch.isalnum() for ch in w) for w in c.split()) == 12 for c in out)
    assert out[0] == "Of course!"
    assert "Dr. Patel has openings on Tuesday at 9:30 a.m.," in out
    assert "- A photo ID" in out
