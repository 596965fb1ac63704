"""Conversation: the LLM context under a token budget, and barge-in truncation."""

from __future__ import annotations

import math

from voxline.agent.context import (
    INTERRUPTED_BEFORE_SPEAKING,
    MESSAGE_OVERHEAD_TOKENS,
    Conversation,
    estimate_tokens,
)

SYSTEM = "You are the booking assistant of Greenway Clinic. Be brief; you are on the phone."


def user_text(i: int) -> str:
    return f"Turn {i}: could you check whether Doctor Patel has anything on day {i} please?"


def assistant_text(i: int) -> str:
    return (f"Reply {i}: Doctor Patel has openings at 9:30 and 11:15 on day {i}, and one more "
            "late in the afternoon. Which of those would suit you best?")


def long_call(turns: int = 60, max_tokens: int = 2000) -> Conversation:
    conv = Conversation(SYSTEM, max_tokens=max_tokens)
    for i in range(turns):
        conv.add_user(user_text(i))
        if i % 7 == 3:
            conv.add_assistant(f"Let me look that up for day {i}.")
            conv.add_tool_result("check_availability", f'{{"day": {i}, "slots": ["09:30"]}}')
        conv.add_assistant(assistant_text(i))
    conv.add_user("Actually, the last one. Book it.")
    return conv


def roles(conv: Conversation) -> list[str]:
    return [m["role"] for m in conv.messages()]


def test_default_estimate() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcdefg") == 2
    assert estimate_tokens("abcdefgh") == 3  # 8 / 3.5 = 2.29, rounded up
    conv = Conversation("x" * 35)
    conv.add_user("y" * 7)
    assert conv.token_count() == (10 + MESSAGE_OVERHEAD_TOKENS) + (2 + MESSAGE_OVERHEAD_TOKENS)


def test_budget_respected_over_a_60_turn_call() -> None:
    conv = long_call()
    messages = conv.messages()
    total = sum(math.ceil(len(m["content"]) / 3.5) + 4 for m in messages)
    assert total == conv.token_count()
    assert 1500 < total <= 2000  # dropped what it had to, and not much more
    assert conv.turns < 61  # older turns were dropped...
    assert conv.turns > 5  # ...but the budget still holds many


def test_everything_kept_when_it_fits() -> None:
    conv = long_call(turns=5, max_tokens=100_000)
    assert conv.turns == 6
    assert len(conv.messages()) == 1 + 5 * 2 + 2 + 1  # system, 5 exchanges, 1 tool round, user


def test_system_prompt_first_and_newest_user_last() -> None:
    conv = long_call()
    messages = conv.messages()
    assert messages[0] == {"role": "system", "content": SYSTEM}
    assert messages[-1] == {"role": "user", "content": "Actually, the last one. Book it."}


def test_oldest_exchanges_dropped_first_and_whole() -> None:
    conv = long_call()
    messages = conv.messages()[1:]
    kept_users = [m["content"] for m in messages if m["role"] == "user"]
    first = 60 - (len(kept_users) - 1)
    assert kept_users[:-1] == [user_text(i) for i in range(first, 60)]
    # Every kept user message keeps the reply that followed it.
    kept_replies = [m["content"] for m in messages if m["content"].startswith("Reply ")]
    assert kept_replies == [assistant_text(i) for i in range(first, 60)]


def test_alternation_user_first_after_system() -> None:
    for budget in range(300, 2100, 37):
        conv = long_call(max_tokens=budget)
        seq = [r for r in roles(conv)[1:] if r != "tool"]
        assert seq[0] == "user", budget
        # Tool rounds put two assistant messages around a tool result; otherwise strict.
        for a, b in zip(seq, seq[1:]):
            assert not (a == b == "user"), budget


def test_tool_result_kept_with_its_exchange() -> None:
    conv = Conversation(SYSTEM, max_tokens=10_000)
    conv.add_user("Is Tuesday free?")
    conv.add_assistant("Let me check.")
    conv.add_tool_result("check_availability", '{"tuesday": ["09:30"]}')
    assert conv.messages()[-1] == {
        "role": "tool", "name": "check_availability", "content": '{"tuesday": ["09:30"]}'
    }


def test_greeting_before_first_user_is_not_sent() -> None:
    conv = Conversation(SYSTEM)
    conv.add_assistant("Hello, Greenway Clinic, how can I help?")
    assert roles(conv) == ["system"]
    assert conv.turns == 0
    conv.add_user("I need an appointment.")
    assert roles(conv) == ["system", "user"]


def test_newest_user_kept_even_over_budget() -> None:
    conv = Conversation(SYSTEM, max_tokens=10)
    conv.add_user("first question")
    conv.add_assistant("first answer")
    conv.add_user("x" * 1000)
    assert roles(conv) == ["system", "user"]
    assert conv.messages()[-1]["content"] == "x" * 1000
    assert conv.token_count() > 10
    assert conv.turns == 1


def test_newest_exchange_in_progress_kept_whole() -> None:
    conv = Conversation(SYSTEM, max_tokens=10)
    conv.add_user("old")
    conv.add_assistant("old answer")
    conv.add_user("Is Tuesday free?")
    conv.add_assistant("Checking.")
    conv.add_tool_result("check_availability", "[]")
    assert roles(conv) == ["system", "user", "assistant", "tool"]


def test_consecutive_user_messages_merge() -> None:
    conv = Conversation(SYSTEM)
    conv.add_user("I need to book")
    conv.add_user("for my son.")
    assert conv.messages()[1:] == [{"role": "user", "content": "I need to book for my son."}]
    assert conv.turns == 1


def test_custom_counter_and_overhead() -> None:
    conv = Conversation("sys", max_tokens=100, count_tokens=lambda text: len(text.split()))
    conv.add_user("one two three")
    conv.add_assistant("four five")
    assert conv.token_count() == (1 + 4) + (3 + 4) + (2 + 4)


def test_messages_are_copies() -> None:
    conv = Conversation(SYSTEM)
    conv.add_user("hello")
    conv.messages()[1]["content"] = "tampered"
    assert conv.messages()[1]["content"] == "hello"


def test_truncate_last_assistant_to_what_was_heard() -> None:
    conv = Conversation(SYSTEM)
    conv.add_user("When can I come?")
    conv.add_assistant("We have Tuesday at 9:30, Wednesday at noon, or Friday at 4.")
    conv.truncate_last_assistant("We have Tuesday at 9:30,")
    assert conv.messages()[-1] == {
        "role": "assistant", "content": "We have Tuesday at 9:30, [interrupted]"
    }


def test_truncate_with_nothing_heard() -> None:
    conv = Conversation(SYSTEM)
    conv.add_user("When can I come?")
    conv.add_assistant("We have Tuesday at 9:30.")
    conv.truncate_last_assistant("")
    assert conv.messages()[-1]["content"] == INTERRUPTED_BEFORE_SPEAKING
    conv.add_user("Sorry, go on.")
    assert roles(conv) == ["system", "user", "assistant", "user"]


def test_truncate_when_everything_was_heard_changes_nothing() -> None:
    conv = Conversation(SYSTEM)
    conv.add_user("Hi")
    conv.add_assistant("Hello there.  How can I help?")
    conv.truncate_last_assistant("Hello there. How can I help?")
    assert conv.messages()[-1]["content"] == "Hello there.  How can I help?"


def test_truncate_targets_the_newest_assistant_and_recounts_tokens() -> None:
    conv = Conversation(SYSTEM)
    conv.add_user("A")
    conv.add_assistant("first reply stays")
    conv.add_user("B")
    conv.add_assistant("second reply " * 50)
    before = conv.token_count()
    conv.truncate_last_assistant("second")
    contents = [m["content"] for m in conv.messages()]
    assert contents[2] == "first reply stays"
    assert contents[4] == "second [interrupted]"
    assert conv.token_count() < before
    assert conv.token_count() == sum(math.ceil(len(c) / 3.5) + 4 for c in contents)


def test_truncate_without_assistant_is_a_no_op() -> None:
    conv = Conversation(SYSTEM)
    conv.add_user("Hello?")
    conv.truncate_last_assistant("anything")
    assert roles(conv) == ["system", "user"]


class Unpruned(Conversation):
    """The same conversation without rule 5: what `messages()` must match."""

    def _forget_unsendable(self) -> None:
        pass


def test_a_one_hour_call_stores_a_bounded_history_and_sends_what_an_unpruned_one_would():
    pruned, reference = Conversation(SYSTEM, 600), Unpruned(SYSTEM, 600)
    stored = []
    for i in range(360):  # a 10 s caller turn, for an hour
        for conv in (pruned, reference):
            conv.add_user(user_text(i))
            if i % 7 == 3:
                conv.add_tool_exchange([
                    {"role": "assistant", "content": None, "tool_calls": [
                        {"id": f"c{i}", "type": "function",
                         "function": {"name": "check", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": f"c{i}", "content": '{"slots": ["09:30"]}'},
                ])
            conv.add_assistant(assistant_text(i))
            if i % 5 == 0:
                conv.truncate_last_assistant("Reply")
        assert pruned.messages() == reference.messages()
        stored.append(pruned.stored)
    assert reference.stored > 700
    assert max(stored[20:]) <= max(stored[:20]) + 4  # flat after the budget filled
    # Tool results are never orphaned from the call that asked for them.
    msgs = pruned.messages()
    for k, m in enumerate(msgs):
        if m["role"] == "tool":
            assert msgs[k - 1]["role"] in ("assistant", "tool")


def test_a_merged_user_message_is_never_pruned_away():
    conv = Conversation(SYSTEM, 50)
    conv.add_user("Hi.")
    conv.add_user("I'd like to book a cleaning for next Tuesday afternoon, if there is one.")
    assert [m["role"] for m in conv.messages()] == ["system", "user"]
    assert "Hi. I'd like" in conv.messages()[1]["content"]
