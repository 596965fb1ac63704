"""Local language model: a packaged instruct GGUF run by llama-cpp-python.

One `Llama` context per process, shared by calls. llama.cpp keeps the KV cache of the last
prompt and re-evaluates only what differs, so warming with the system prompt means a call's
first turn pays only for its own tokens, and each later turn only for what was said since.
Generation runs on one dedicated thread; tokens cross to the event loop through a queue, and
it pauses between tokens while speech is being synthesized or transcribed (compute.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from voxline.errors import ProviderError
from voxline.models import model_path
from voxline.providers.base import Message, ToolCall
from voxline.providers.local.compute import LOCAL_COMPUTE

_END = object()


class LlamaLLM:
    def __init__(
        self,
        model_id: str,
        *,
        threads: int = 2,
        context_tokens: int = 4096,
        temperature: float = 0.0,
        seed: int = 7,
    ) -> None:
        from llama_cpp import Llama

        self.name = f"local/{model_id}"
        self._llm = Llama(
            model_path=str(model_path(model_id)),
            n_ctx=context_tokens,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            seed=seed,
            verbose=False,
        )
        self._temperature = temperature
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    async def warm(self, system_prompt: str) -> None:
        messages = [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": "Hello."},
        ]
        async for _ in self.stream(messages, max_tokens=1):
            pass

    async def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> AsyncIterator[str | ToolCall]:
        """Tokens of the reply. `tools` is accepted and not used: the packaged 0.5B model does
        not call tools reliably, so the embedded default answers from its prompt alone."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop closed under us: the call is gone
                stop.set()

        job = loop.run_in_executor(
            self._executor, self._generate, list(messages), max_tokens, emit, stop
        )
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise ProviderError(f"{self.name} failed: {item}") from item
                yield item
            await job
        finally:
            # Cancellation (barge-in, hang-up) lands here: the thread stops after its current
            # token, which is the finest grain llama.cpp offers.
            stop.set()

    def _generate(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        emit: Callable[[Any], None],
        stop: threading.Event,
    ) -> None:
        try:
            if stop.is_set():
                return
            chunks = self._llm.create_chat_completion(
                messages=messages,
                stream=True,
                max_tokens=max_tokens,
                temperature=self._temperature,
                top_p=0.9,
                repeat_penalty=1.1,
            )
            for chunk in chunks:
                if stop.is_set():
                    break
                LOCAL_COMPUTE.yield_to_speech()
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    emit(delta)
        except Exception as err:  # noqa: BLE001 - crosses the thread boundary as a value
            emit(err)
        finally:
            emit(_END)
