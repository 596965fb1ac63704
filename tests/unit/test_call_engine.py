"""The turn engine's state machine, driven frame by frame with in-test providers.

The providers here implement the Protocols with scripted behaviour (fixed transcripts, tokens
and tones) so that every branch of the engine can be reached on purpose; the same engine runs
with the real models in tests/integration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import numpy as np

from voxline.config import Settings
from voxline.agent.tools import Toolbox
from voxline.providers.base import SpeechChunk, ToolCall, Transcript
from voxline.providers.registry import Providers
from voxline.session.call import APOLOGY, FILLER, Call

SPEECH = (np.sin(np.arange(320) / 3) * 8000).astype(np.int16).tobytes()
QUIET = bytes(640)


class EnergyVad:
    rate = 16000

    def speech_probability(self, frame: bytes) -> float:
        return 1.0 if any(frame) else 0.0

    def reset(self) -> None:
        pass


class ScriptedSTT:
    name = "test/stt"

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.requests = 0

    async def open_stream(self, rate: int):
        return self

    def push(self, frame: bytes) -> None:
        pass

    def begin_utterance(self, started_ms_ago: float) -> None:
        pass

    def end_utterance(self) -> None:
        pass

    async def transcribe(self) -> Transcript:
        self.requests += 1
        text = self.texts.pop(0) if self.texts else ""  # each request is one look at the audio
        await asyncio.sleep(0.01)
        return Transcript(text)

    async def aclose(self) -> None:
        pass


class ScriptedLLM:
    name = "test/llm"

    def __init__(self, reply: str, delay=0.0, fail=False, tool_call=None) -> None:
        self.reply, self.delay, self.fail, self.tool_call = reply, delay, fail, tool_call
        self.requests: list[list[dict]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def warm(self, system_prompt: str) -> None:
        pass

    async def stream(
        self, messages: Sequence[dict], max_tokens: int, tools=None
    ) -> AsyncIterator[str | ToolCall]:
        self.requests.append(list(messages))
        if self.fail:
            raise RuntimeError("provider down")
        if tools and self.tool_call and messages[-1]["role"] != "tool":
            yield ToolCall("call_1", *self.tool_call)
            return
        reply = self.reply
        if messages[-1]["role"] == "tool":
            reply = f"Done: {messages[-1]['content']}"
        for word in reply.split(" "):
            await asyncio.sleep(self.delay)
            yield word + " "


class ToneTTS:
    name = "test/tts"
    rate = 16000

    async def warm(self) -> None:
        pass

    async def stream(self, clauses: AsyncIterator[str]) -> AsyncIterator[SpeechChunk]:
        index = 0
        async for text in clauses:
            pcm = SPEECH * (5 * len(text.split()))  # 100 ms of tone per word
            yield SpeechChunk(pcm, self.rate, index, text, last=True)
            index += 1


def make_call(stt_texts, reply="Sure, we are open from eight to five.", toolbox=None, **llm):
    settings = Settings(endpointing={"trailing_silence_ms": 200, "min_speech_ms": 40})
    providers = Providers(ScriptedSTT(stt_texts), ScriptedLLM(reply, **llm), ToneTTS())
    return Call(providers, settings, transport="test", vad=EnergyVad(), toolbox=toolbox)


class Line:
    """Drives a call: one frame in, one frame out per tick, recording the agent's frames."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.agent: list[bytes | None] = []

    async def send(self, frame: bytes, n: int = 1) -> None:
        for _ in range(n):
            self.call.receive(frame)
            self.agent.append(self.call.next_frame())
            await asyncio.sleep(0.002)

    async def utterance_and_answer(self) -> None:
        """400 ms of speech, the 200 ms window plus a frame, then wait out the answer."""
        await self.send(SPEECH, 20)
        await self.send(QUIET, 11)
        await self.until_quiet()

    async def until_quiet(self, limit: int = 2000) -> None:
        """Send silence until one more turn has been recorded and the agent is quiet."""
        records = len(self.call.records)
        for _ in range(limit):
            await self.send(QUIET)
            done = len(self.call.records) > records and not self.call.busy
            if done and self.agent[-1] is None:
                return
        raise AssertionError("no turn ended")


async def run(call: Call, script) -> Line:
    runner = asyncio.create_task(call.run())
    line = Line(call)
    await script(line)
    call.hang_up()
    await asyncio.wait_for(runner, 5)
    return line


async def test_a_pause_shorter_than_the_window_drops_the_speculative_turn():
    call = make_call(["I'd like to book", "I'd like to book a cleaning"])

    async def script(line):
        await line.send(SPEECH, 20)
        await line.send(QUIET, 5)  # 100 ms: speculative turn starts, endpoint not reached
        await line.send(SPEECH, 20)
        await line.until_quiet()

    await run(call, script)
    assert call.speculative_turns_dropped == 1
    assert [r.transcript for r in call.records] == ["I'd like to book a cleaning"]
    assert call.records[0].outcome == "answered"


async def test_audio_of_a_speculative_turn_is_held_until_the_endpoint():
    call = make_call(["hello"])
    held_frames = []

    async def script(line):
        await line.send(SPEECH, 20)
        await line.send(QUIET, 8)  # 160 ms < 200 ms window: not confirmed yet
        held_frames.extend(line.agent[-8:])
        await line.until_quiet()

    await run(call, script)
    assert held_frames == [None] * 8
    assert call.records[0].outcome == "answered"
    assert call.records[0].latency["turn_latency_ms"] is not None


async def test_a_turn_records_where_in_the_inbound_audio_it_ended_and_was_decided():
    call = make_call(["hello", "and again"])

    async def script(line):
        await line.send(QUIET, 10)  # 200 ms before the caller speaks
        await line.utterance_and_answer()  # 400 ms of speech, then the 200 ms window
        frames_before = len(line.agent)
        await line.send(SPEECH, 20)
        await line.send(QUIET, 11)
        await line.until_quiet()
        second_speech_end.append((frames_before + 20) * 20)

    second_speech_end: list[int] = []
    await run(call, script)
    first, second = (record.audio_ms for record in call.records)
    # Positions count the frames the engine was fed: speech ended at 200 + 400 ms.
    assert first == {"speech_end": 600, "endpoint": 800}
    assert second == {"speech_end": second_speech_end[0], "endpoint": second_speech_end[0] + 200}


async def test_barge_in_before_any_audio_carries_the_words_into_the_next_turn():
    call = make_call(["my name is", "Maria Lopez"], delay=0.05)

    async def script(line):
        await line.send(SPEECH, 20)
        await line.send(QUIET, 12)  # endpoint: the slow LLM has not produced audio yet
        await line.send(SPEECH, 20)  # the caller goes on: barge-in on a silent agent
        await line.until_quiet()

    await run(call, script)
    outcomes = [r.outcome for r in call.records]
    assert outcomes == ["interrupted", "answered"]
    assert call.records[1].transcript == "my name is [NAME_1]"  # the vault redacted the name
    users = [m["content"] for m in call.conversation.messages() if m["role"] == "user"]
    assert users == ["my name is [NAME_1]"]


async def test_barge_in_during_audio_silences_the_next_frame_and_truncates_context():
    call = make_call(["tell me everything", "stop"], reply="one two three four five six seven")
    stopped_at = []

    async def script(line):
        await line.send(SPEECH, 20)
        await line.send(QUIET, 11)
        while not any(line.agent[-3:]):  # wait for the answer to be playing
            await line.send(QUIET)
        await line.send(QUIET, 10)  # 200 ms of it
        await line.send(SPEECH, 2)  # min_speech 40 ms: barge-in on the 2nd frame
        stopped_at.append(len(line.agent))
        await line.send(SPEECH, 5)
        await line.until_quiet()

    line = await run(call, script)
    first = call.records[0]
    assert first.outcome == "interrupted"
    assert first.latency["barge_in_stop_ms"] <= 20
    # Agent audio up to the decision, silence from the very next frame handed out.
    assert line.agent[stopped_at[0] - 3] is not None
    assert line.agent[stopped_at[0] : stopped_at[0] + 5] == [None] * 5
    assistant = [m["content"] for m in call.conversation.messages() if m["role"] == "assistant"]
    assert assistant[0].endswith("[interrupted]")
    assert len(first.heard.split()) < len(first.reply.split())


async def test_a_provider_fault_apologises_and_the_call_goes_on():
    call = make_call(["hello", "hello again"], fail=True)
    spoken = []
    call.observe(lambda e: spoken.append(e.data["text"]) if e.kind == "agent_clause" else None)

    async def script(line):
        await line.utterance_and_answer()
        await line.utterance_and_answer()

    await run(call, script)
    assert [r.outcome for r in call.records] == ["error", "error"]
    assert "provider down" in call.records[0].error
    assert APOLOGY.split(",")[0] in " ".join(spoken)


async def test_a_slow_tool_gets_a_filler_and_its_result_feeds_the_same_turn():
    async def look_up(day: str) -> str:
        """Look up a day."""
        await asyncio.sleep(0.9)  # slower than the filler threshold
        return f"{day} is free at ten"

    call = make_call(["is tuesday free"], toolbox=Toolbox([look_up]),
                     tool_call=("look_up", '{"day": "tuesday"}'))
    spoken = []
    call.observe(lambda e: spoken.append(e.data["text"]) if e.kind == "agent_clause" else None)

    async def script(line):
        await line.utterance_and_answer()

    await run(call, script)
    record = call.records[0]
    assert record.outcome == "answered"
    assert spoken[0] == FILLER
    assert "tuesday is free at ten" in record.reply
    assert record.tool_calls == [
        {"name": "look_up", "arguments": '{"day": "tuesday"}', "result": "tuesday is free at ten"}
    ]
    roles = [m["role"] for m in call.conversation.messages()]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]


async def test_provider_endpointing_replaces_the_local_endpoint():
    call = make_call([])
    call.settings = call.settings.model_copy(
        update={"endpointing": call.settings.endpointing.model_copy(update={"source": "provider"})}
    )
    stt = call.providers.stt
    stt.on_endpoint = None  # the stream offers vendor endpointing

    async def script(line):
        await line.send(SPEECH, 20)
        await line.send(QUIET, 30)  # 600 ms: far past the local 200 ms window
        assert call.records == [] and not call.busy  # the local VAD did not end the turn
        stt.on_endpoint(Transcript("what are your hours", 0.93))
        await line.until_quiet()

    await run(call, script)
    record = call.records[0]
    assert record.transcript == "what are your hours" and record.stt_confidence == 0.93
    assert record.outcome == "answered" and stt.requests == 0
    assert record.latency["turn_latency_ms"] is not None
