"""OpenAI-compatible chat LLMs: OpenAI, Groq, Together, Fireworks, vLLM, Ollama, llama.cpp.

One client, many `base_url`s (PRESETS). The wire format lives in `protocols/openai_chat.py`;
this module only moves bytes, keeps one keep-alive connection pool per instance, and decides
what to retry. It runs on aiohttp, whose C HTTP parser costs about half of what httpx costs per
request on the answer path (bench/results/cloud_sim.json splits the clients' shares):

* Retries happen only before anything was yielded. A 429 waits for its Retry-After (when that
  is at most `retry_after_cap_s`, else it is raised at once for a fallback to take over);
  5xx, timeouts and lost connections wait a jittered backoff; other 4xx and protocol
  violations are raised at once. Once a token has been yielded, every error is raised.
* `first_token_timeout_s` bounds each attempt from the request to the first sign of output
  (a content token or a tool-call fragment); `total_timeout_s` bounds the whole call,
  retries included.
* `error_counts` counts every error by `error_class`, retried ones included.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from voxline.errors import (
    ConfigError,
    ProtocolViolation,
    ProviderConnectError,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    RateLimited,
    error_class,
)
from voxline.protocols.openai_chat import (
    ChunkAssembler,
    SSEDecoder,
    chat_request,
    error_message,
    parse_error,
)
from voxline.providers.base import Message, ToolCall

log = logging.getLogger(__name__)

PRESETS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "groq": "https://api.groq.com/openai/v1",
    "together": "https://api.together.xyz/v1",
    "fireworks": "https://api.fireworks.ai/inference/v1",
    "vllm": "http://127.0.0.1:8000/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "llamacpp": "http://127.0.0.1:8080/v1",
}
_KEYED_HOSTS = {urlsplit(url).hostname for name, url in PRESETS.items() if url.startswith("https")}
BACKOFF_BASE_S = 0.2
BACKOFF_MAX_S = 2.0
WARM_TIMEOUT_S = 5.0


class OpenAIChatLLM:
    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str = PRESETS["openai"],
        first_token_timeout_s: float = 2.0,
        total_timeout_s: float = 30.0,
        max_retries: int = 2,
        temperature: float = 0.3,
        name_prefix: str = "openai",
        retry_after_cap_s: float = 2.0,
    ) -> None:
        if not api_key and urlsplit(base_url).hostname in _KEYED_HOSTS:
            raise ConfigError(f"{name_prefix}/{model} needs an API key for {base_url}; set one")
        self.name = f"{name_prefix}/{model}"
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.first_token_timeout_s = first_token_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_retries = max_retries
        self.temperature = temperature
        self.retry_after_cap_s = retry_after_cap_s
        self.error_counts: Counter[str] = Counter()
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client: aiohttp.ClientSession | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The instance's session, made in the running loop (a pool cannot cross loops)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop or self._client.closed:
            self._client = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=None),  # deadlines are ours: see _attempt
                connector=aiohttp.TCPConnector(
                    limit=200, keepalive_timeout=90.0,  # turns are seconds apart
                ),
                trust_env=False,  # no proxy or netrc from the environment: only base_url
                auto_decompress=False,  # we never ask for compression; SSE is read raw
            )
            self._client_loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def count_tokens(self, text: str) -> int:
        """An estimate (no tokenizer is shipped for remote models): ~4 characters or ~0.75
        words a token for English, whichever is more, so context trimming errs on the safe side."""
        if not text:
            return 0
        return math.ceil(max(len(text) / 4, len(text.split()) * 4 / 3))

    async def warm(self, system_prompt: str) -> None:
        """Open a pooled connection (TCP + TLS) with `GET /models`, so the first turn pays no
        handshake. Failure is logged and ignored: the first turn will connect instead."""
        try:
            async with (
                asyncio.timeout(WARM_TIMEOUT_S),
                self._http().get(f"{self.base_url}/models") as response,
            ):
                body = await response.read()
            if response.status != 200:
                log.warning("%s: warm-up GET /models answered %d: %s", self.name,
                            response.status, error_message(body))
        except (aiohttp.ClientError, TimeoutError) as err:
            log.warning("%s: warm-up GET %s/models failed: %r", self.name, self.base_url, err)

    async def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | ToolCall]:
        body = chat_request(self.model, messages, max_tokens=max_tokens, tools=tools,
                            temperature=self.temperature)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.total_timeout_s
        attempt = 0
        yielded = False
        while True:
            try:
                async with aclosing(self._attempt(body, deadline)) as items:
                    async for item in items:
                        yielded = True
                        yield item
                return
            except ProviderError as err:
                self.error_counts[error_class(err)] += 1
                delay = None if yielded else self._retry_delay(err, attempt, deadline - loop.time())
                if delay is None:
                    raise
                attempt += 1
                log.warning("%s; retry %d of %d in %.2f s", err, attempt, self.max_retries, delay)
                await asyncio.sleep(delay)

    def _retry_delay(self, err: ProviderError, attempt: int, time_left: float) -> float | None:
        """Seconds to wait before the next attempt, or None to raise `err`."""
        if attempt >= self.max_retries:
            return None
        backoff = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.5)
        if isinstance(err, RateLimited):
            if err.retry_after_s is None:
                delay = backoff
            elif err.retry_after_s <= self.retry_after_cap_s:
                delay = err.retry_after_s * random.uniform(1.0, 1.1)
            else:
                return None
        elif isinstance(err, (ProviderServerError, ProviderTimeout, ProviderConnectError)):
            delay = backoff
        else:
            return None
        return delay if delay < time_left else None

    async def _attempt(
        self, body: dict[str, Any], deadline: float
    ) -> AsyncIterator[str | ToolCall]:
        """One request: its items as they arrive; every failure as a typed ProviderError."""
        loop = asyncio.get_running_loop()
        first_deadline = min(deadline, loop.time() + self.first_token_timeout_s)
        decoder, assembler = SSEDecoder(), ChunkAssembler()
        try:
            async with AsyncExitStack() as stack:
                async with asyncio.timeout_at(first_deadline):
                    response = await stack.enter_async_context(
                        self._http().post(f"{self.base_url}/chat/completions", json=body)
                    )
                    if response.status != 200:
                        raise parse_error(response.status, await response.read(),
                                          _retry_after(response.headers))
                    if response.headers.get("content-type", "").startswith("application/json"):
                        raise ProtocolViolation("expected an event stream, got JSON: "
                                                + error_message(await response.read()))
                chunks = response.content.iter_any()
                while True:
                    limit = deadline if assembler.started else first_deadline
                    async with asyncio.timeout_at(limit):
                        data = await anext(chunks, None)
                    payloads = decoder.feed(data) if data is not None else decoder.close()
                    for payload in payloads:
                        for item in assembler.feed(payload):
                            yield item
                    if data is None:
                        break
                if not assembler.done and assembler.finish_reason is None:
                    raise ProviderConnectError("the stream ended before the answer was complete "
                                               "(no finish_reason, no [DONE])")
        except ProviderError as err:
            err.args = (f"{self.name}: {err}",)
            raise
        except TimeoutError as err:
            if assembler.started:
                raise ProviderTimeout(f"{self.name}: the answer took longer than "
                                      f"{self.total_timeout_s} s") from err
            raise ProviderTimeout(f"{self.name}: no first token within "
                                  f"{self.first_token_timeout_s} s") from err
        except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as err:
            raise ProviderConnectError(f"{self.name}: could not connect to {self.base_url} "
                                       f"({err!r}); check base_url and that it is up") from err
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                aiohttp.ClientOSError) as err:
            raise ProviderConnectError(f"{self.name}: the connection was lost mid-answer "
                                       f"({err!r})") from err
        except aiohttp.ClientError as err:
            raise ProviderError(f"{self.name}: {err!r}") from err


def _retry_after(headers: Mapping[str, str]) -> str | None:
    """Retry-After, preferring OpenAI's more precise `retry-after-ms` when present."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return str(float(millis) / 1000)
        except ValueError:
            pass
    return headers.get("retry-after")
