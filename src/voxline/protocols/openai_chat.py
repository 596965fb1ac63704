"""OpenAI chat completions over HTTP + server-sent events, without I/O.

Both sides use this module: the client (`providers/openai.py`) builds request bodies and decodes
answers with it, and the local fake (`testing/openai_server.py`) builds its answers with it, so
there is one definition of the wire format.

Rules of the wire, as documented by OpenAI and kept by the compatible servers:

1. A streamed answer is `text/event-stream`. Each event is `data: <JSON chunk>` and a blank line;
   the stream ends with `data: [DONE]`. Lines end in LF, CRLF or CR; lines starting with `:` are
   comments; several `data:` lines in one event are joined with LF.
2. A chunk is `{"id", "object": "chat.completion.chunk", "created", "model", "choices": [...]}`.
   Each choice carries `index`, `delta` and `finish_reason` (null until the last chunk).
3. `delta.content` holds the next piece of text (may be "" or null). `delta.tool_calls` holds
   fragments: each has `index` (which call); the first fragment of a call brings `id`, `type`
   and `function.name`; `function.arguments` arrives as JSON text in pieces to concatenate.
4. `finish_reason` is "stop", "length", "tool_calls" or "content_filter". With
   `stream_options.include_usage` a last chunk with `"choices": []` carries `usage`.
5. Errors before the stream are an HTTP status and `{"error": {"message", "type", "param",
   "code"}}`; 429 may carry `Retry-After` (seconds or an HTTP date) or `retry-after-ms`.
   A server may also send `data: {"error": {...}}` inside an open stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from voxline.errors import (
    ProtocolViolation,
    ProviderError,
    ProviderRequestError,
    ProviderServerError,
    RateLimited,
)
from voxline.providers.base import Message, ToolCall

DONE = "[DONE]"
_EOL = re.compile(rb"\r\n|\r|\n")
_MAX_LINE = 1 << 20  # an SSE line longer than 1 MiB is not a chat chunk


def chat_request(
    model: str,
    messages: Sequence[Message],
    *,
    max_tokens: int,
    tools: Sequence[dict[str, Any]] | None = None,
    temperature: float = 0.3,
    stream: bool = True,
) -> dict[str, Any]:
    """The JSON body of `POST /chat/completions`."""
    body: dict[str, Any] = {"model": model, "messages": list(messages), "max_tokens": max_tokens,
                            "temperature": temperature, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    if tools:
        body["tools"] = list(tools)
    return body


class SSEDecoder:
    """Bytes of a `text/event-stream` in, the `data` of each complete event out."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] | None = None  # data lines of the event being read
        self._first = True

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        out: list[str] = []
        start = 0
        while match := _EOL.search(self._buffer, start):
            if match.group() == b"\r" and match.end() == len(self._buffer):
                break  # maybe the first half of CRLF: wait for the next read
            self._line(self._buffer[start : match.start()], out)
            start = match.end()
        self._buffer = self._buffer[start:]
        if len(self._buffer) > _MAX_LINE:
            raise ProtocolViolation("an event-stream line is longer than 1 MiB without ending")
        return out

    def close(self) -> list[str]:
        """End of the body: an event left without its blank line is delivered (lenient)."""
        out: list[str] = []
        if self._buffer:
            self._line(self._buffer.rstrip(b"\r"), out)
        self._buffer = b""
        self._line(b"", out)
        return out

    def _line(self, raw: bytes, out: list[str]) -> None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ProtocolViolation(f"event-stream line is not UTF-8: {err}") from err
        if self._first:
            line = line.removeprefix("\ufeff")
            self._first = False
        if not line:
            if self._data is not None:
                out.append("\n".join(self._data))
            self._data = None
        elif not line.startswith(":"):  # ":" starts a comment (keep-alive)
            name, _, value = line.partition(":")
            if name == "data":  # `event`, `id`, `retry` carry nothing for chat completions
                self._data = (self._data or []) + [value.removeprefix(" ")]


@dataclass
class _Call:
    id: str | None = None
    name: str | None = None
    arguments: list[str] = field(default_factory=list)


class ChunkAssembler:
    """`data` payloads in; content tokens and complete tool calls out, for choice 0.

    Tool calls are emitted when `finish_reason` arrives or at `[DONE]`, in index order. A
    server that reuses one index for parallel calls (telling them apart by a new `id`, as
    Ollama does) gets a separate call per `id`. A call with no `id` gets `call_<n>`.
    """

    def __init__(self) -> None:
        self._calls: list[_Call] = []
        self._slot: dict[int, int] = {}  # wire index -> position in _calls
        self._done = False
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.started = False  # the model has produced output (content or a tool fragment)

    @property
    def done(self) -> bool:
        """`[DONE]` was received."""
        return self._done

    def feed(self, payload: str) -> list[str | ToolCall]:
        if self._done:
            raise ProtocolViolation("data after [DONE]")
        if payload.strip() == DONE:
            self._done = True
            return list(self._flush())
        try:
            chunk = json.loads(payload)
        except ValueError as err:
            raise ProtocolViolation(f"chunk is not JSON ({err}): {payload[:120]!r}") from err
        if not isinstance(chunk, dict):
            raise ProtocolViolation(f"chunk is not a JSON object: {payload[:120]!r}")
        if chunk.get("error"):
            raise stream_error(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if choices is None:
            choices = []  # a usage-only chunk (vLLM sends null)
        if not isinstance(choices, list):
            raise ProtocolViolation("chunk `choices` is not a list")
        out: list[str | ToolCall] = []
        for choice in choices:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta", {}), dict):
                raise ProtocolViolation(f"malformed choice: {str(choice)[:120]}")
            if choice.get("index", 0) == 0:
                out.extend(self._choice(choice))
        return out

    def _choice(self, choice: dict[str, Any]) -> list[str | ToolCall]:
        delta = choice.get("delta") or {}
        content = delta.get("content")
        fragments = delta.get("tool_calls")
        if (content or fragments) and self.finish_reason is not None:
            raise ProtocolViolation("delta after finish_reason")
        out: list[str | ToolCall] = []
        if content is not None:
            if not isinstance(content, str):
                raise ProtocolViolation("delta.content is not a string")
            if content:
                self.started = True
                out.append(content)
        if fragments is not None:
            if not isinstance(fragments, list):
                raise ProtocolViolation("delta.tool_calls is not a list")
            for fragment in fragments:
                self._fragment(fragment)
        finish = choice.get("finish_reason")
        if finish is not None:
            self.finish_reason = str(finish)
            out.extend(self._flush())
        return out

    def _fragment(self, fragment: Any) -> None:
        if not isinstance(fragment, dict):
            raise ProtocolViolation("tool-call fragment is not an object")
        index = fragment.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ProtocolViolation(f"tool-call fragment has no valid index: {fragment!r:.120}")
        function = fragment.get("function") or {}
        if not isinstance(function, dict):
            raise ProtocolViolation("tool-call function is not an object")
        call_id, name = fragment.get("id"), function.get("name")
        arguments = function.get("arguments")
        for what, value in (("id", call_id), ("name", name), ("arguments", arguments)):
            if value is not None and not isinstance(value, str):
                raise ProtocolViolation(f"tool-call {what} is not a string")
        slot = self._slot.get(index)
        if slot is not None and call_id and self._calls[slot].id not in (None, call_id):
            slot = None  # same index, new id: a parallel call (Ollama style)
        if slot is None:
            if not call_id and not name:
                raise ProtocolViolation(f"tool call {index} continues a call that never began")
            self._calls.append(_Call())
            slot = self._slot[index] = len(self._calls) - 1
        call = self._calls[slot]
        call.id = call.id or call_id or None
        if name:
            if call.name not in (None, name):
                raise ProtocolViolation(f"tool call {index} changed name {call.name!r} -> {name!r}")
            call.name = name
        if arguments:
            call.arguments.append(arguments)
        self.started = True

    def _flush(self) -> list[ToolCall]:
        calls, self._calls, self._slot = self._calls, [], {}
        out = []
        for n, call in enumerate(calls):
            if not call.name:
                raise ProtocolViolation(f"tool call {call.id or n} has no function name")
            out.append(ToolCall(call.id or f"call_{n}", call.name, "".join(call.arguments)))
        return out


# -- errors ---------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After value: delay-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_message(body: bytes | str) -> str:
    """The provider's own words from an error body, or the start of the body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, str):
            return err[:200]
        if isinstance(err, dict):
            for key in ("message", "detail", "msg"):
                if isinstance(err.get(key), str):
                    return err[key][:500]
    return text.strip()[:200]


def parse_error(status: int, body: bytes | str, retry_after: str | None = None) -> ProviderError:
    """The typed error for a non-200 answer. `retry_after` is the Retry-After header value."""
    return _typed(status, error_message(body), parse_retry_after(retry_after), "")


def stream_error(chunk: dict[str, Any]) -> ProviderError:
    """An `{"error": ...}` object sent inside an open stream (the HTTP status was 200).

    Its `code`, when it is an HTTP status (vLLM sends 400 for a bad request), picks the type;
    otherwise it is the server's fault.
    """
    err = chunk.get("error")
    code = err.get("code") if isinstance(err, dict) else None
    status = code if isinstance(code, int) and 400 <= code <= 599 else 500
    return _typed(status, error_message(json.dumps({"error": err})), None, "in-stream ")


def _typed(status: int, message: str, retry_after_s: float | None, where: str) -> ProviderError:
    if status == 429:
        return RateLimited(f"{where}rate limited (429): {message}", retry_after_s)
    if status >= 500:
        return ProviderServerError(f"{where}server error ({status}): {message}", status)
    hint = ""
    if status in (401, 403):
        hint = " Check the API key configured for this provider."
    elif status == 404:
        hint = " Check the base_url and the model name."
    return ProviderRequestError(f"{where}request rejected ({status}): {message}.{hint}", status)


# -- builders (the fake server, and tests) --------------------------------------------------


def _chunk(delta: dict[str, Any], finish_reason: str | None, meta: dict[str, Any]) -> dict:
    """`meta`: completion_id, model, created (the same on every chunk of one answer)."""
    return {"id": meta.get("completion_id", "chatcmpl-voxline"), "object": "chat.completion.chunk",
            "created": meta.get("created", 0), "model": meta.get("model", "voxline-clinic"),
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish_reason}]}


def role_chunk(**meta: Any) -> dict:
    """The first chunk of an answer: the role, and empty content."""
    return _chunk({"role": "assistant", "content": ""}, None, meta)


def content_chunk(text: str, **meta: Any) -> dict:
    return _chunk({"content": text}, None, meta)


def tool_call_chunks(index: int, call: ToolCall, pieces: int = 3, **meta: Any) -> list[dict]:
    """One call as the wire carries it: id and name first, then the arguments in `pieces`."""
    first = {"index": index, "id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": ""}}
    chunks = [_chunk({"tool_calls": [first]}, None, meta)]
    step = max(1, -(-len(call.arguments) // max(1, pieces)))
    for start in range(0, len(call.arguments), step):
        fragment = {"index": index, "function": {"arguments": call.arguments[start : start + step]}}
        chunks.append(_chunk({"tool_calls": [fragment]}, None, meta))
    return chunks


def finish_chunk(reason: str = "stop", **meta: Any) -> dict:
    return _chunk({}, reason, meta)


def usage_chunk(prompt_tokens: int, completion_tokens: int, **meta: Any) -> dict:
    chunk = _chunk({}, None, meta)
    chunk["choices"] = []
    chunk["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}
    return chunk


def sse(payload: dict[str, Any] | str) -> bytes:
    """One event: `data: <payload>` and the blank line. A str (like DONE) is sent as is."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return b"data: " + text.encode("utf-8") + b"\n\n"


def error_body(
    message: str, type: str = "invalid_request_error", code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}
