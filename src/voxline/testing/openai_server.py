"""A server that speaks OpenAI's chat completions protocol, on loopback.

    async with OpenAIServer() as server:
        llm = OpenAIChatLLM("voxline-clinic", api_key="test-key", base_url=server.base_url)

`POST /v1/chat/completions` (stream only) answers with the chunks OpenAI documents, built by
`protocols/openai_chat.py`: a role chunk, content word by word, tool calls as an id/name
fragment and then argument fragments, a finish chunk, a usage chunk when asked, `[DONE]`.
`GET /v1/models` lists the model. Both check the Bearer key. The answer comes from `brain`
(default: `clinic_brain`), paced by the latency profile, and a FaultPlan breaks chosen
requests (counted from 0, chat requests only).

uvicorn runs on its own thread and loop, so the server's pacing does not share the event loop
of the client under test.
"""

from __future__ import annotations

import asyncio
import math
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from voxline.protocols import openai_chat as wire
from voxline.providers.base import ToolCall
from voxline.testing.clinic_brain import clinic_brain
from voxline.testing.profile import Fault, FaultPlan, LatencyProfile

Brain = Callable[[list[dict], list[dict] | None], list[str | ToolCall]]
_BROKEN = b'data: {"id":"chatcmpl-broken","choices":[{"index":0,"delta":{"content":"Hel\n\n'


class _Dropped(Exception):
    """Raised after the last event of a dropped answer: leaves the HTTP body unfinished."""


class OpenAIServer:
    def __init__(
        self,
        *,
        api_key: str = "test-key",
        brain: Brain | None = None,
        profile: LatencyProfile | None = None,
        faults: FaultPlan | None = None,
        model: str = "voxline-clinic",
    ) -> None:
        self.api_key = api_key
        self.brain = brain or clinic_brain
        self.profile = profile or LatencyProfile()
        self.faults = faults or FaultPlan()
        self.model = model
        self.requests: list[dict] = []  # chat request bodies, in order of arrival
        self.disconnects = 0  # answers the client stopped reading before the end
        self.connections: set[int] = set()  # client ports seen: keep-alive reuses one
        self.base_url = ""
        self._chats = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", _ChatEndpoint(self), methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ])

    async def __aenter__(self) -> OpenAIServer:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
        # and with proto 0 Nagle + delayed ACK add ~40 ms to every answer.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        config = uvicorn.Config(
            self.app, http="h11", lifespan="off", log_config=None, access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name="openai-server", daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake OpenAI server did not start")
            await asyncio.sleep(0.005)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            await asyncio.to_thread(self._thread.join, 10)

    async def wait_for_disconnects(self, count: int = 1, timeout: float = 2.0) -> bool:
        """Whether `count` answers were abandoned by the client within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.disconnects < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.disconnects >= count

    # -- handlers (run on the server's thread) ----------------------------------------------

    def _seen(self, request: Request) -> None:
        if request.client is not None:
            self.connections.add(request.client.port)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization", "") == f"Bearer {self.api_key}"

    async def _models(self, request: Request) -> Response:
        self._seen(request)
        if not self._authorized(request):
            return _error(401, "Incorrect API key provided.", code="invalid_api_key")
        model = {"id": self.model, "object": "model", "created": 0, "owned_by": "voxline"}
        return JSONResponse({"object": "list", "data": [model]})

    async def chat(self, request: Request) -> tuple[Response, dict[str, bool]]:
        received_ns = time.monotonic_ns()
        self._seen(request)
        index, self._chats = self._chats, self._chats + 1
        state = {"completed": False, "streaming": False}
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request."), state
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object."), state
        self.requests.append(body)
        fault = self.faults.active(index)
        if fault == Fault.AUTH or not self._authorized(request):
            return _error(401, "Incorrect API key provided.", code="invalid_api_key"), state
        if fault == Fault.RATE_LIMIT:
            wait = self.faults.retry_after_s
            headers = {"retry-after": str(math.ceil(wait)),
                       "retry-after-ms": str(round(wait * 1000))}
            return _error(429, "Rate limit reached for requests.", "requests",
                          "rate_limit_exceeded", headers), state
        if fault == Fault.SERVER_ERROR:
            return _error(500, "The server had an error while processing your request.",
                          "server_error"), state
        messages, tools = body.get("messages"), body.get("tools")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty array.", param="messages"), state
        if body.get("stream") is not True:
            return _error(400, "This server only streams: set 'stream' to true.",
                          param="stream"), state
        items = self.brain(messages, tools)
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        prompt_tokens = sum(len(str(m.get("content") or "")) for m in messages) // 4
        events = self._events(index, items, prompt_tokens if usage else None, fault)
        state["streaming"] = True
        return StreamingResponse(
            self._pace(events, fault, state, received_ns), media_type="text/event-stream",
            headers={"cache-control": "no-cache"},
        ), state

    def _events(
        self, index: int, items: list[str | ToolCall], prompt_tokens: int | None, fault: Fault
    ) -> list[bytes]:
        meta = {"completion_id": f"chatcmpl-{index}", "model": self.model,
                "created": int(time.time())}
        chunks: list[dict] = [wire.role_chunk(**meta)]
        calls = [item for item in items if isinstance(item, ToolCall)]
        words = [w for item in items if isinstance(item, str) for w in re.findall(r"\s*\S+", item)]
        chunks += [wire.content_chunk(word, **meta) for word in words]
        for n, call in enumerate(calls):
            chunks += wire.tool_call_chunks(n, call, pieces=3, **meta)
        chunks.append(wire.finish_chunk("tool_calls" if calls else "stop", **meta))
        if prompt_tokens is not None:
            chunks.append(wire.usage_chunk(prompt_tokens, len(words), **meta))
        events = [wire.sse(chunk) for chunk in chunks] + [wire.sse(wire.DONE)]
        if fault == Fault.MALFORMED:
            events[1] = _BROKEN
        if fault == Fault.DROP_MID_STREAM:
            events = events[: max(2, len(events) // 2)]
        return events

    async def _pace(
        self, events: list[bytes], fault: Fault, state: dict[str, bool], received_ns: int
    ) -> AsyncIterator[bytes]:
        if fault == Fault.SLOW_FIRST:
            await asyncio.sleep(self.faults.slow_first_s)
        else:
            await asyncio.sleep(self.profile.draw("llm_first_token_ms"))
        for n, event in enumerate(events):
            if n >= 2:  # the role chunk and the first token leave together
                await asyncio.sleep(self.profile.draw("llm_token_interval_ms"))
            elif n == 0:
                self.profile.hold("llm_first_token", received_ns)
            yield event
        state["completed"] = True
        if fault == Fault.DROP_MID_STREAM:
            raise _Dropped


class _ChatEndpoint:
    """Raw ASGI, so that a dropped answer can end the connection mid-body."""

    def __init__(self, server: OpenAIServer) -> None:
        self.server = server

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        response, state = await self.server.chat(Request(scope, receive))
        try:
            await response(scope, receive, send)
        except _Dropped:
            return  # uvicorn closes the connection: the client sees an unfinished chunked body
        if state["streaming"] and not state["completed"]:
            self.server.disconnects += 1


def _error(
    status: int, message: str, type: str = "invalid_request_error", code: str | None = None,
    headers: dict[str, str] | None = None, param: str | None = None,
) -> JSONResponse:
    return JSONResponse(wire.error_body(message, type, code, param), status, headers=headers)
