"""The OpenAI chat completions wire format, with byte vectors shaped like OpenAI's documented
streaming examples (content, tool calls, errors)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from voxline.errors import (
    ProtocolViolation,
    ProviderRequestError,
    ProviderServerError,
    RateLimited,
    error_class,
)
from voxline.protocols import openai_chat as wire
from voxline.protocols.openai_chat import ChunkAssembler, SSEDecoder, parse_error
from voxline.providers.base import ToolCall

HEAD = '{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,' \
       '"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":'


def event(choices: str) -> bytes:
    return f"data: {HEAD}{choices}}}\n\n".encode()


# The documented content stream: a role chunk with empty content, tokens, a finish chunk.
CONTENT_STREAM = b"".join([
    event('[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,'
          '"finish_reason":null}]'),
    event('[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]'),
    event('[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}]'),
    event('[{"index":0,"delta":{"content":" How can I help?"},"logprobs":null,'
          '"finish_reason":null}]'),
    event('[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]'),
    b"data: [DONE]\n\n",
])


def tool_fragment(
    index: int, first: bool, arguments: str, call_id: str = "", name: str = ""
) -> str:
    if first:
        body = {"index": index, "id": call_id, "type": "function",
                "function": {"name": name, "arguments": arguments}}
    else:
        body = {"index": index, "function": {"arguments": arguments}}
    return json.dumps([{"index": 0, "delta": {"tool_calls": [body]}, "finish_reason": None}])


# The documented function-calling stream: id and name first, arguments in fragments.
TOOL_STREAM = b"".join([
    event('[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]'),
    event(tool_fragment(0, True, "", "call_abc123", "get_current_weather")),
    *(event(tool_fragment(0, False, piece)) for piece in ['{"', "location", '":"', "Boston",
                                                          ", MA", '"}']),
    event('[{"index":0,"delta":{},"finish_reason":"tool_calls"}]'),
    b"data: [DONE]\n\n",
])


def run(stream: bytes, reads: list[int] | None = None) -> tuple[list, ChunkAssembler]:
    """Feed `stream` to a decoder cut at `reads` (byte offsets), payloads to an assembler."""
    decoder, assembler = SSEDecoder(), ChunkAssembler()
    cuts = [0, *(reads or []), len(stream)]
    items: list = []
    for start, end in zip(cuts, cuts[1:]):
        for payload in decoder.feed(stream[start:end]):
            items += assembler.feed(payload)
    for payload in decoder.close():
        items += assembler.feed(payload)
    return items, assembler


def test_documented_content_stream() -> None:
    items, assembler = run(CONTENT_STREAM)
    assert items == ["Hello", "!", " How can I help?"]
    assert assembler.done and assembler.finish_reason == "stop"


def test_documented_tool_call_stream_is_assembled() -> None:
    items, assembler = run(TOOL_STREAM)
    assert items == [ToolCall("call_abc123", "get_current_weather", '{"location":"Boston, MA"}')]
    assert json.loads(items[0].arguments) == {"location": "Boston, MA"}
    assert assembler.finish_reason == "tool_calls"


@pytest.mark.parametrize("stream", [CONTENT_STREAM, TOOL_STREAM], ids=["content", "tool"])
def test_reads_split_anywhere_give_the_same_items(stream: bytes) -> None:
    whole, _ = run(stream)
    for cut in range(1, len(stream)):
        assert run(stream, [cut])[0] == whole, f"split at byte {cut}"
    assert run(stream, list(range(1, len(stream))))[0] == whole  # one byte per read


def test_parallel_tool_calls_by_index() -> None:
    stream = b"".join([
        event(tool_fragment(0, True, "", "call_a", "check_availability")),
        event(tool_fragment(1, True, '{"da', "call_b", "book_appointment")),
        event(tool_fragment(0, False, '{"day": ')),
        event(tool_fragment(1, False, 'y": "Tuesday"}')),
        event(tool_fragment(0, False, '"Monday"}')),
        event('[{"index":0,"delta":{},"finish_reason":"tool_calls"}]'),
        b"data: [DONE]\n\n",
    ])
    items, _ = run(stream)
    assert items == [
        ToolCall("call_a", "check_availability", '{"day": "Monday"}'),
        ToolCall("call_b", "book_appointment", '{"day": "Tuesday"}'),
    ]


def test_same_index_with_a_new_id_is_a_second_call() -> None:
    # Ollama-compatible servers send each parallel call whole, all at index 0.
    stream = b"".join([
        event(tool_fragment(0, True, '{"day": "Monday"}', "call_1", "check_availability")),
        event(tool_fragment(0, True, '{"day": "Friday"}', "call_2", "check_availability")),
        event('[{"index":0,"delta":{},"finish_reason":"tool_calls"}]'),
    ])
    items, _ = run(stream)
    assert [call.id for call in items] == ["call_1", "call_2"]
    assert [json.loads(call.arguments)["day"] for call in items] == ["Monday", "Friday"]


def test_tool_calls_without_finish_reason_come_at_done() -> None:
    assembler = ChunkAssembler()
    assert assembler.feed(f"{HEAD}{tool_fragment(0, True, '{}', 'call_x', 'f')}}}") == []
    assert not assembler.done
    assert assembler.feed("[DONE]") == [ToolCall("call_x", "f", "{}")]
    assert assembler.done
    with pytest.raises(ProtocolViolation):
        assembler.feed(f"{HEAD}[]}}")


def test_usage_chunk_with_empty_choices() -> None:
    assembler = ChunkAssembler()
    assert assembler.feed(json.dumps(wire.usage_chunk(12, 3))) == []
    assert assembler.usage == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


def test_sse_line_endings_comments_and_multiline_data() -> None:
    stream = (
        b"\xef\xbb\xbf: keep-alive comment\r\n\r\n"
        b"event: message\r\nid: 7\r\ndata: one\r\n\r\n"
        b"data:two\rdata: lines\r\r"
        b"data: three\n\n"
        b"retry: 10\n\n"  # no data: no event
    )
    decoder = SSEDecoder()
    out = []
    for byte in range(len(stream)):
        out += decoder.feed(stream[byte : byte + 1])
    assert out == ["one", "two\nlines", "three"]
    assert SSEDecoder().feed(stream) == out


def test_sse_close_delivers_an_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.close() == ["[DONE]"]


def test_sse_rejects_bad_utf8_and_endless_lines() -> None:
    with pytest.raises(ProtocolViolation):
        SSEDecoder().feed(b"data: \xff\xfe\n\n")
    with pytest.raises(ProtocolViolation):
        SSEDecoder().feed(b"data: " + b"x" * (1 << 20) + b"x")


@pytest.mark.parametrize(
    "payload",
    [
        '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hel',  # cut JSON
        "[1, 2]",
        f"{HEAD}{{}}}}",  # choices not a list
        f"{HEAD}[{{\"index\":0,\"delta\":{{\"content\":5}}}}]}}",
        f"{HEAD}[{{\"index\":0,\"delta\":\"hi\"}}]}}",
        f"{HEAD}[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"function\":{{}}}}]}}}}]}}",
        f"{HEAD}[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":-1,\"id\":\"c\"}}]}}}}]}}",
        f"{HEAD}{tool_fragment(0, False, '{}')}}}",  # arguments for a call that never began
    ],
    ids=["cut-json", "not-object", "choices", "content-type", "delta-type", "no-index",
         "negative-index", "orphan-fragment"],
)
def test_malformed_chunks_are_protocol_violations(payload: str) -> None:
    with pytest.raises(ProtocolViolation):
        ChunkAssembler().feed(payload)


def test_impossible_sequences_are_protocol_violations() -> None:
    renamed = ChunkAssembler()
    renamed.feed(f"{HEAD}{tool_fragment(0, True, '', 'call_1', 'first')}}}")
    with pytest.raises(ProtocolViolation):
        renamed.feed(f"{HEAD}{tool_fragment(0, True, '', '', 'second')}}}")
    after_finish = ChunkAssembler()
    after_finish.feed(f'{HEAD}[{{"index":0,"delta":{{}},"finish_reason":"stop"}}]}}')
    with pytest.raises(ProtocolViolation):
        after_finish.feed(f'{HEAD}[{{"index":0,"delta":{{"content":"more"}}}}]}}')
    nameless = ChunkAssembler()
    nameless.feed(f"{HEAD}{tool_fragment(0, True, '{}', 'call_1', '')}}}")
    with pytest.raises(ProtocolViolation):
        nameless.feed("[DONE]")


def test_error_inside_the_stream_is_typed() -> None:
    with pytest.raises(ProviderServerError) as info:
        ChunkAssembler().feed('{"error": {"message": "The model overloaded", "type": "x"}}')
    assert "The model overloaded" in str(info.value)
    with pytest.raises(ProviderRequestError):
        ChunkAssembler().feed('{"error": {"message": "context too long", "code": 400}}')


def test_429_with_retry_after_seconds_and_date() -> None:
    body = wire.error_body("Rate limit reached for requests", "requests", "rate_limit_exceeded")
    err = parse_error(429, json.dumps(body).encode(), "3")
    assert isinstance(err, RateLimited) and err.retry_after_s == 3.0
    assert "Rate limit reached for requests" in str(err)
    assert error_class(err) == "429"
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert wire.parse_retry_after("Wed, 01 Jan 2025 12:00:05 GMT", now) == 5.0
    assert wire.parse_retry_after("soon", now) is None
    assert parse_error(429, b"", None).retry_after_s is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_a_server_error(status: int) -> None:
    body = json.dumps(wire.error_body("The server had an error", "server_error"))
    err = parse_error(status, body)
    assert isinstance(err, ProviderServerError) and err.status == status
    assert "The server had an error" in str(err) and error_class(err) == "5xx"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_is_a_request_error(status: int) -> None:
    body = json.dumps(wire.error_body("Incorrect API key provided", code="invalid_api_key"))
    err = parse_error(status, body)
    assert isinstance(err, ProviderRequestError) and err.status == status
    assert "Incorrect API key provided" in str(err) and error_class(err) == "4xx"


def test_error_message_from_non_json_bodies() -> None:
    assert "Bad Gateway" in str(parse_error(502, b"<html>502 Bad Gateway</html>"))
    assert "model not found" in str(parse_error(404, '{"error": "model not found"}'))
    assert "(empty body)" in str(parse_error(500, b""))


def test_builders_round_trip_through_the_decoder() -> None:
    call = ToolCall("call_9", "book_appointment", '{"name": "Ana", "day": "Tuesday"}')
    chunks = [wire.role_chunk(), wire.content_chunk("Sure"), wire.content_chunk(", one moment."),
              *wire.tool_call_chunks(0, call, pieces=4), wire.finish_chunk("tool_calls"),
              wire.usage_chunk(40, 5)]
    assert len(wire.tool_call_chunks(0, call, pieces=4)) == 5  # id+name, then 4 fragments
    stream = b"".join(map(wire.sse, chunks)) + wire.sse(wire.DONE)
    items, assembler = run(stream, [7, 100, 101, 333])
    assert items == ["Sure", ", one moment.", call]
    assert assembler.done and assembler.usage["total_tokens"] == 45


def test_chat_request_body() -> None:
    messages = [{"role": "user", "content": "hi"}]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    body = wire.chat_request("gpt-4o-mini", messages, max_tokens=60, tools=tools)
    assert body == {
        "model": "gpt-4o-mini", "messages": messages, "max_tokens": 60, "temperature": 0.3,
        "stream": True, "stream_options": {"include_usage": True}, "tools": tools,
    }
    plain = wire.chat_request("m", messages, max_tokens=5, stream=False, temperature=0)
    assert "tools" not in plain and "stream_options" not in plain and plain["stream"] is False
