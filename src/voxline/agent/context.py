"""The conversation sent to the LLM, kept under a token budget.

A voice call can run for an hour; the prompt must not grow with it, or first-token latency and
cost grow too. `messages()` sends the system prompt plus the newest whole exchanges that fit in
``max_tokens``, and what can never be sent again is forgotten (rule 5), so memory is bounded too.

Invariants of `messages()`:

1. The system prompt is always first and always sent.
2. The newest exchange (the newest user message and what followed it) is always sent, even if
   the budget cannot hold it: the model cannot answer a question it was not asked.
3. Older exchanges are dropped whole, oldest first: a user message is never sent without the
   assistant reply and tool results that followed it, nor a reply without its question.
4. The first message after the system prompt is a user message; assistant or tool messages
   before the first kept user message (a greeting, say) are not sent, because several chat
   templates reject a conversation that does not alternate user/assistant from a user message.
5. When a new exchange begins (`add_user` of a new message), entries that `messages()` does not
   send at that moment are forgotten. They could never be sent again: later calls only add
   messages, and `truncate_last_assistant` shortens only the newest reply, which came after.
   So the history holds at most the budget's worth plus the newest exchange.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

# Chat formats wrap each message in role markers: about 4 tokens with OpenAI's tokenizers.
# Added to every message whatever counter is used, so a custom tokenizer stays honest too.
MESSAGE_OVERHEAD_TOKENS = 4

# What the model sees in place of a reply the caller interrupted before hearing any of it.
INTERRUPTED_BEFORE_SPEAKING = "[interrupted before speaking]"
# Appended to the part of a reply the caller did hear before talking over it.
INTERRUPTED_MARKER = " [interrupted]"


def estimate_tokens(text: str) -> int:
    """Conservative token estimate with no tokenizer: English averages ~4 characters a token."""
    return math.ceil(len(text) / 3.5)


class Conversation:
    """Messages of one call, sent to the LLM under a token budget.

    >>> c = Conversation("You book appointments.", max_tokens=2000)
    >>> c.add_user("Can I come in Tuesday?")
    >>> [m["role"] for m in c.messages()]
    ['system', 'user']
    """

    def __init__(
        self,
        system_prompt: str,
        max_tokens: int = 2000,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.max_tokens = max_tokens
        self._count = count_tokens or estimate_tokens
        self._system = self._entry({"role": "system", "content": system_prompt})
        # Each entry is (message, its cost in tokens): counted once, when added or changed.
        self._history: list[tuple[dict[str, str], int]] = []

    def _entry(self, message: dict[str, Any]) -> tuple[dict[str, Any], int]:
        text = message.get("content") or ""
        if message.get("tool_calls"):  # an assistant message that calls tools costs its calls
            text += json.dumps(message["tool_calls"])
        return message, self._count(text) + MESSAGE_OVERHEAD_TOKENS

    # -- adding ------------------------------------------------------------------------------

    def add_user(self, text: str) -> None:
        """Add what the caller said. Two user messages in a row are merged into one (the
        caller spoke again before any reply was kept), so roles keep alternating."""
        if self._history and self._history[-1][0]["role"] == "user":
            merged = f"{self._history[-1][0]['content']} {text}".strip()
            self._history[-1] = self._entry({"role": "user", "content": merged})
            return
        self._forget_unsendable()
        self._history.append(self._entry({"role": "user", "content": text}))

    def _forget_unsendable(self) -> None:
        """Rule 5: drop what `messages()` no longer sends; it never will again."""
        self._history = self._kept()

    def add_assistant(self, text: str) -> None:
        """Add the agent's reply (the full text the LLM produced for this turn)."""
        self._history.append(self._entry({"role": "assistant", "content": text}))

    def add_tool_result(self, name: str, content: str) -> None:
        """Add the result of a tool call, as a "tool" message naming the tool."""
        self._history.append(self._entry({"role": "tool", "name": name, "content": content}))

    def add_tool_exchange(self, messages: Sequence[dict[str, Any]]) -> None:
        """Add an assistant message that called tools and the tool results, as the LLM API
        saw them (assistant `tool_calls`, then one `tool` message per `tool_call_id`)."""
        for message in messages:
            self._history.append(self._entry(dict(message)))

    def truncate_last_assistant(self, heard: str) -> None:
        """Cut the newest assistant message to what the caller heard before barging in.

        The model must not believe the caller heard the whole reply (it would refer to things
        never said), and it should know it was cut off, so it can pick up or rephrase. So the
        content becomes exactly the heard words plus " [interrupted]", or
        "[interrupted before speaking]" when nothing was heard. If everything was heard, the
        message is left as it is. Does nothing when there is no assistant message.
        """
        for index in range(len(self._history) - 1, -1, -1):
            message = self._history[index][0]
            if message["role"] != "assistant":
                continue
            heard = " ".join(heard.split())
            if heard and heard == " ".join(message["content"].split()):
                return
            content = heard + INTERRUPTED_MARKER if heard else INTERRUPTED_BEFORE_SPEAKING
            self._history[index] = self._entry({**message, "content": content})
            return

    # -- reading -----------------------------------------------------------------------------

    def _kept(self) -> list[tuple[dict[str, str], int]]:
        """History entries that `messages()` sends (rules 2 to 4 of the module docstring)."""
        exchanges: list[list[tuple[dict[str, str], int]]] = []
        for entry in self._history:
            if entry[0]["role"] == "user":
                exchanges.append([entry])
            elif exchanges:
                exchanges[-1].append(entry)
            # else: a message before the first user message: never sent (rule 4)
        if not exchanges:
            return []
        total = self._system[1] + sum(cost for ex in exchanges for _, cost in ex)
        first = 0
        while first < len(exchanges) - 1 and total > self.max_tokens:
            total -= sum(cost for _, cost in exchanges[first])
            first += 1
        return [entry for ex in exchanges[first:] for entry in ex]

    def messages(self) -> list[dict[str, str]]:
        """OpenAI-style messages: the system prompt, then the newest exchanges that fit."""
        return [dict(m) for m, _ in [self._system, *self._kept()]]

    def token_count(self) -> int:
        """Tokens of what `messages()` returns, by the counter in use."""
        return self._system[1] + sum(cost for _, cost in self._kept())

    @property
    def stored(self) -> int:
        """Messages held in memory (sent or not): bounded by rule 5."""
        return len(self._history)

    @property
    def turns(self) -> int:
        """Number of user messages that `messages()` sends."""
        return sum(1 for m, _ in self._kept() if m["role"] == "user")
