"""OpenAIChatLLM against the loopback OpenAI server: streaming, tool calls, every fault."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from contextlib import aclosing

import httpx
import pytest

from voxline.errors import (
    ConfigError,
    ProtocolViolation,
    ProviderConnectError,
    ProviderError,
    ProviderRequestError,
    ProviderTimeout,
    RateLimited,
)
from voxline.protocols.openai_chat import ChunkAssembler, SSEDecoder
from voxline.providers.base import ToolCall
from voxline.providers.openai import PRESETS, OpenAIChatLLM
from voxline.testing.clinic_brain import HOURS
from voxline.testing.openai_server import OpenAIServer
from voxline.testing.profile import Fault, FaultPlan, LatencyProfile

HOURS_Q = [{"role": "system", "content": "You are a receptionist."},
           {"role": "user", "content": "What are your opening hours?"}]
BOOK_Q = [{"role": "user", "content": "Can I book Tuesday at 2 PM? My name is Maria Lopez."}]
TOOLS = [
    {"type": "function", "function": {"name": "book_appointment", "parameters": {
        "type": "object", "properties": {"patient_name": {"type": "string"},
                                         "day": {"type": "string"}, "time": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "check_availability", "parameters": {
        "type": "object", "properties": {"day": {"type": "string"}}}}},
]


def server(fault: Fault = Fault.NONE, **plan: object) -> OpenAIServer:
    return OpenAIServer(profile=LatencyProfile.instant(), faults=FaultPlan(fault, **plan))


_made: list[OpenAIChatLLM] = []


@pytest.fixture(autouse=True)
async def close_clients():
    """Close every client a test made, so no pooled session outlives its loop."""
    yield
    while _made:
        await _made.pop().aclose()


def client(srv: OpenAIServer, **options: object) -> OpenAIChatLLM:
    return made(OpenAIChatLLM("voxline-clinic", api_key="test-key", base_url=srv.base_url,
                              **options))


def made(llm: OpenAIChatLLM) -> OpenAIChatLLM:
    _made.append(llm)
    return llm


async def collect(llm: OpenAIChatLLM, messages=HOURS_Q, tools=None) -> list[str | ToolCall]:
    return [item async for item in llm.stream(messages, max_tokens=80, tools=tools)]


async def test_streams_content_token_by_token() -> None:
    async with server() as srv:
        llm = client(srv)
        tokens = await collect(llm)
        await llm.aclose()
    assert all(isinstance(t, str) for t in tokens) and len(tokens) > 5
    assert "".join(tokens) == HOURS
    body = srv.requests[0]
    assert body["model"] == "voxline-clinic" and body["stream"] is True
    assert body["messages"] == HOURS_Q and "tools" not in body
    assert llm.name == "openai/voxline-clinic" and not llm.error_counts


async def test_streamed_tool_call_is_assembled_with_json_arguments() -> None:
    async with server() as srv:
        items = await collect(client(srv), BOOK_Q, TOOLS)
    assert len(items) == 1 and isinstance(items[0], ToolCall)
    call = items[0]
    assert call.name == "book_appointment" and call.id.startswith("call_")
    assert json.loads(call.arguments) == {"patient_name": "Maria Lopez", "day": "Tuesday",
                                          "time": "14:00"}
    assert srv.requests[0]["tools"] == TOOLS


async def test_answer_after_a_tool_result_uses_the_result() -> None:
    call = {"id": "call_1", "type": "function", "function": {
        "name": "check_availability", "arguments": '{"day": "Tuesday"}'}}
    messages = [{"role": "user", "content": "What's free on Tuesday?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1",
                 "content": json.dumps({"day": "Tuesday", "slots": ["10 AM", "2 PM"]})}]
    async with server() as srv:
        first = await collect(client(srv), messages[:1], TOOLS)
        answer = "".join(await collect(client(srv), messages, TOOLS))
    assert [c.name for c in first] == ["check_availability"]
    assert answer == "On Tuesday we have 10 AM or 2 PM. Which would you like?"


async def test_server_wire_format_fragments_tool_arguments() -> None:
    """The fake's bytes, read without the client: arguments arrive in several fragments."""
    async with server() as srv, httpx.AsyncClient() as http:
        body = {"model": "m", "messages": BOOK_Q, "tools": TOOLS, "stream": True}
        response = await http.post(f"{srv.base_url}/chat/completions", json=body,
                                   headers={"Authorization": "Bearer test-key"})
    assert response.headers["content-type"].startswith("text/event-stream")
    payloads = SSEDecoder().feed(response.content)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    fragments = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks
                 if c["choices"][0]["delta"].get("tool_calls")]
    assert len(fragments) >= 3 and "id" in fragments[0] and "id" not in fragments[1]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assembler = ChunkAssembler()
    assert [i for p in payloads for i in assembler.feed(p)][0].name == "book_appointment"


async def test_non_stream_requests_models_and_bad_key() -> None:
    async with server() as srv, httpx.AsyncClient() as http:
        auth = {"Authorization": "Bearer test-key"}
        plain = await http.post(f"{srv.base_url}/chat/completions", headers=auth,
                                json={"model": "m", "messages": HOURS_Q})
        models = await http.get(f"{srv.base_url}/models", headers=auth)
        denied = await http.get(f"{srv.base_url}/models")
    assert plain.status_code == 400 and "stream" in plain.json()["error"]["message"]
    assert models.json()["data"][0]["id"] == "voxline-clinic"
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "invalid_api_key"


async def test_warm_opens_the_connection_that_turns_reuse() -> None:
    async with server() as srv:
        llm = client(srv)
        await llm.warm("You are a receptionist.")
        assert len(srv.connections) == 1 and not srv.requests
        await collect(llm)
        await collect(llm, BOOK_Q, TOOLS)
        await llm.aclose()
    assert len(srv.requests) == 2 and len(srv.connections) == 1


async def test_429_is_retried_after_retry_after() -> None:
    async with server(Fault.RATE_LIMIT, retry_after_s=0.6) as srv:
        llm = client(srv)
        started = time.monotonic()
        tokens = await collect(llm)
        elapsed = time.monotonic() - started
    assert "".join(tokens) == HOURS
    assert elapsed >= 0.6 and len(srv.requests) == 2  # backoff alone would be <= 0.3 s
    assert llm.error_counts == {"429": 1}


async def test_429_beyond_the_cap_is_raised_at_once() -> None:
    async with server(Fault.RATE_LIMIT, retry_after_s=5.0) as srv:
        llm = client(srv, retry_after_cap_s=1.0)
        with pytest.raises(RateLimited) as info:
            await collect(llm)
    assert info.value.retry_after_s == 5.0 and len(srv.requests) == 1
    assert llm.error_counts == {"429": 1}


async def test_500_is_retried() -> None:
    async with server(Fault.SERVER_ERROR, on_requests=frozenset({0, 1})) as srv:
        llm = client(srv)
        tokens = await collect(llm)
    assert "".join(tokens) == HOURS and len(srv.requests) == 3
    assert llm.error_counts == {"5xx": 2}


async def test_500_until_retries_run_out() -> None:
    async with server(Fault.SERVER_ERROR, on_requests=frozenset(range(10))) as srv:
        llm = client(srv, max_retries=1)
        with pytest.raises(ProviderError, match="500"):
            await collect(llm)
    assert len(srv.requests) == 2 and llm.error_counts == {"5xx": 2}


@pytest.mark.parametrize("key_ok", [True, False], ids=["auth-fault", "wrong-key"])
async def test_401_is_raised_without_retry(key_ok: bool) -> None:
    async with server(Fault.AUTH if key_ok else Fault.NONE) as srv:
        llm = made(OpenAIChatLLM("m", api_key="test-key" if key_ok else "wrong",
                                 base_url=srv.base_url))
        with pytest.raises(ProviderRequestError) as info:
            await collect(llm)
    assert info.value.status == 401 and "API key" in str(info.value)
    assert len(srv.requests) == 1 and llm.error_counts == {"4xx": 1}


async def test_slow_first_token_times_out() -> None:
    async with server(Fault.SLOW_FIRST, slow_first_s=2.0) as srv:
        llm = client(srv, first_token_timeout_s=0.2, max_retries=0)
        started = time.monotonic()
        with pytest.raises(ProviderTimeout, match="first token"):
            await collect(llm)
        elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.5 and llm.error_counts == {"timeout": 1}


async def test_slow_first_token_is_retried_once() -> None:
    async with server(Fault.SLOW_FIRST, slow_first_s=2.0) as srv:
        llm = client(srv, first_token_timeout_s=0.5, max_retries=1)
        tokens = await collect(llm)
    assert "".join(tokens) == HOURS and len(srv.requests) == 2
    assert llm.error_counts == {"timeout": 1}


async def test_drop_after_the_first_token_is_raised_not_retried() -> None:
    async with server(Fault.DROP_MID_STREAM) as srv:
        llm = client(srv, max_retries=2)
        tokens: list = []
        with pytest.raises(ProviderError) as info:
            async for token in llm.stream(HOURS_Q, max_tokens=80):
                tokens.append(token)
    assert isinstance(info.value, ProviderConnectError)
    assert 1 <= len(tokens) and HOURS.startswith("".join(tokens)) and "".join(tokens) != HOURS
    assert len(srv.requests) == 1 and llm.error_counts == {"connect": 1}


async def test_drop_before_anything_was_yielded_is_retried() -> None:
    # A tool-call answer yields nothing until the call is complete, so its drop is retried.
    async with server(Fault.DROP_MID_STREAM) as srv:
        llm = client(srv)
        items = await collect(llm, BOOK_Q, TOOLS)
    assert [i.name for i in items] == ["book_appointment"] and len(srv.requests) == 2
    assert llm.error_counts == {"connect": 1}


async def test_malformed_chunk_is_a_protocol_violation() -> None:
    async with server(Fault.MALFORMED) as srv:
        llm = client(srv)
        with pytest.raises(ProtocolViolation):
            await collect(llm)
    assert len(srv.requests) == 1 and llm.error_counts == {"protocol": 1}


async def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    llm = made(OpenAIChatLLM("m", api_key=None, base_url=f"http://127.0.0.1:{port}/v1",
                             max_retries=1))
    with pytest.raises(ProviderConnectError, match="could not connect"):
        await collect(llm)
    assert llm.error_counts == {"connect": 2}


async def test_cancelling_the_task_closes_the_request() -> None:
    profile = LatencyProfile(llm_first_token_ms=(0, 0), llm_token_interval_ms=(50, 50))
    async with OpenAIServer(profile=profile) as srv:
        llm = client(srv)
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in llm.stream(HOURS_Q, max_tokens=80):
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await srv.wait_for_disconnects(1, timeout=2.0)
    assert not llm.error_counts


async def test_closing_the_stream_early_closes_the_request() -> None:
    profile = LatencyProfile(llm_first_token_ms=(0, 0), llm_token_interval_ms=(50, 50))
    async with OpenAIServer(profile=profile) as srv:
        async with aclosing(client(srv).stream(HOURS_Q, max_tokens=80)) as tokens:
            async for _ in tokens:
                break
        assert await srv.wait_for_disconnects(1, timeout=2.0)


def test_presets_and_keys() -> None:
    assert PRESETS["groq"] == "https://api.groq.com/openai/v1"
    assert PRESETS["ollama"] == "http://127.0.0.1:11434/v1"
    with pytest.raises(ConfigError):
        OpenAIChatLLM("gpt-4o-mini", api_key=None)
    local = OpenAIChatLLM("llama3", api_key=None, base_url=PRESETS["ollama"], name_prefix="ollama")
    assert local.name == "ollama/llama3"
    assert local.count_tokens("") == 0
    assert 8 <= local.count_tokens("What are your opening hours on Tuesday morning?") <= 16


async def test_default_brain_drives_the_clinic_tools() -> None:
    """Client, fake server and the real clinic tools: ask, call, run the tool, answer."""
    from voxline.agent.clinic import AppointmentBook
    from voxline.agent.tools import Toolbox

    book = AppointmentBook()
    toolbox = Toolbox(book.tools())
    messages: list[dict] = list(BOOK_Q)
    async with server() as srv:
        llm = client(srv)
        [call] = await collect(llm, messages, toolbox.definitions())
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": call.arguments}}]},
            {"role": "tool", "tool_call_id": call.id, "content": await toolbox.run(call)},
        ]
        answer = "".join(await collect(llm, messages, toolbox.definitions()))
    assert call.name == "book_appointment"
    assert book.bookings() == [("tuesday", "14:00", "Maria Lopez")]
    assert answer == "You're booked for Tuesday at 14:00, Maria Lopez."
