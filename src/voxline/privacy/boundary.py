"""The turn engine's privacy boundary: every crossing of personal data in one place.

    caller's final words ──caller_words──► LLM context          (placeholders)
    LLM messages         ──to_llm───────► LLM provider          (known values scrubbed again)
    LLM text             ──to_speech────► chunker / TTS         (policy: value or safe form)
    tool call            ──to_tool──────► the tool              (real values)
    tool result          ──from_tool────► LLM context, records  (placeholders)
    what was heard       ──heard────────► context, records      (placeholders)

With redaction off (`PrivacySettings.redaction = false`) each crossing passes text unchanged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from voxline.privacy.detect import RedactionError
from voxline.privacy.policy import SpeechPolicy
from voxline.privacy.vault import CallVault
from voxline.providers.base import Message, ToolCall

log = logging.getLogger(__name__)

WITHHELD_RESULT = json.dumps(
    {"error": "the tool's result was withheld: it could not be checked for personal data"}
)


def call_vault(settings: Any) -> CallVault | None:
    """The vault for a new call, or None with redaction off."""
    privacy = settings.privacy
    if not privacy.redaction:
        return None
    from voxline.privacy.detect import PiiDetector

    return CallVault(PiiDetector(privacy.detection), SpeechPolicy.of(privacy.read_back))


def warm_redaction(settings: Any) -> None:
    """Load the detector's tables (name lists, number words) once per process, at start-up,
    so the first call's first turn does not pay for it (~70 ms)."""
    vault = call_vault(settings)
    if vault is not None:
        vault.redact("my name is john smith and my number is five five five oh one two three",
                     carry_on=False)
        vault.close()


class PrivacyBoundary:
    def __init__(self, vault: CallVault | None) -> None:
        self.vault = vault

    def caller_words(self, raw: str) -> str:
        """A final transcript as the LLM, logs and records may see it. Raises RedactionError:
        the turn's words are then withheld (never passed on unredacted)."""
        if self.vault is None:
            return raw
        return self.vault.redact(raw, carry_on=False)

    def carry_on(self, raw: str) -> None:
        """The turn was confirmed: its words are the carry the next turn is read against."""
        if self.vault is not None:
            self.vault.carry_on(raw)

    def to_llm(self, messages: Sequence[Message]) -> list[Message]:
        if self.vault is None:
            return list(messages)
        return [_scrub_message(self.vault, m) for m in messages]

    def to_speech(self, text: str) -> str:
        return text if self.vault is None else self.vault.speakable(text)

    def to_tool(self, call: ToolCall) -> ToolCall:
        if self.vault is None:
            return call
        return ToolCall(call.id, call.name, self.vault.restore(call.arguments))

    def from_tool(self, name: str, result: str) -> str:
        if self.vault is None:
            return result
        try:
            return self.vault.redact_obj(result)
        except RedactionError:
            log.warning("the result of tool %s was withheld: PII redaction failed", name)
            return WITHHELD_RESULT

    def heard(self, text: str) -> str:
        """Spoken text (which may hold read-back values) turned back into placeholders."""
        return text if self.vault is None else self.vault.scrub(text)

    def close(self) -> None:
        if self.vault is not None:
            self.vault.close()


def _scrub_message(vault: CallVault, message: Message) -> Message:
    scrubbed: dict[str, Any] = dict(message)
    if isinstance(scrubbed.get("content"), str):
        scrubbed["content"] = vault.scrub(scrubbed["content"])
    if scrubbed.get("tool_calls"):
        scrubbed["tool_calls"] = [
            {**c, "function": {**c["function"],
                               "arguments": vault.scrub(c["function"]["arguments"])}}
            for c in scrubbed["tool_calls"]
        ]
    return scrubbed
