import pytest

from voxline.errors import ProviderConnectError, ProviderServerError
from voxline.providers.base import SpeechChunk, Transcript
from voxline.providers.fallback import FallbackLLM, FallbackSTT, FallbackTTS


class LLM:
    def __init__(self, name, fail_before=False, fail_after=0):
        self.name, self.fail_before, self.fail_after, self.calls = name, fail_before, fail_after, 0

    def count_tokens(self, text):
        return 1

    async def warm(self, system_prompt):
        pass

    async def stream(self, messages, max_tokens, tools=None):
        self.calls += 1
        if self.fail_before:
            raise ProviderServerError("boom", 500)
        for i, word in enumerate(["a", "b", "c"]):
            if self.fail_after and i == self.fail_after:
                raise ProviderServerError("dropped", 502)
            yield word


async def collect(stream):
    return [item async for item in stream]


async def test_llm_skips_a_provider_that_fails_before_its_first_token():
    chain = FallbackLLM([LLM("cloud", fail_before=True), LLM("local")])
    assert await collect(chain.stream([], 10)) == ["a", "b", "c"]
    assert chain.switches == {"cloud>local": 1}
    assert await collect(chain.stream([], 10)) == ["a", "b", "c"]
    assert chain.members[0].calls == 1  # stays on the working provider


async def test_llm_mid_answer_fault_raises_and_the_next_request_starts_lower():
    cloud, local = LLM("cloud", fail_after=2), LLM("local")
    chain = FallbackLLM([cloud, local])
    got = []
    with pytest.raises(ProviderServerError):
        async for item in chain.stream([], 10):
            got.append(item)
    assert got == ["a", "b"]
    assert await collect(chain.stream([], 10)) == ["a", "b", "c"]
    assert (cloud.calls, local.calls) == (1, 1)


class TTS:
    rate = 16000

    def __init__(self, name, die_at_clause=None):
        self.name, self.die_at, self.heard = name, die_at_clause, []

    async def warm(self):
        pass

    async def stream(self, clauses):
        index = 0
        async for text in clauses:
            self.heard.append(text)
            if index == self.die_at:
                raise ProviderConnectError("socket lost")
            yield SpeechChunk(b"\x01\x00" * 160, self.rate, index, text, last=True)
            index += 1


async def test_tts_replays_unfinished_clauses_to_the_next_provider():
    async def clauses():
        for text in ["one,", "two,", "three."]:
            yield text

    cloud, local = TTS("cloud", die_at_clause=1), TTS("local")
    chain = FallbackTTS([cloud, local])
    chunks = await collect(chain.stream(clauses()))
    assert [(c.clause, c.text) for c in chunks] == [(0, "one,"), (1, "two,"), (2, "three.")]
    assert local.heard == ["two,", "three."]
    assert chain.switches == {"cloud>local": 1}


class STT:
    def __init__(self, name, refuse=False, fail_transcribe=False):
        self.name, self.refuse, self.fail = name, refuse, fail_transcribe
        self.frames, self.began = [], None

    async def open_stream(self, rate):
        if self.refuse:
            raise ProviderConnectError("refused")
        return self

    def push(self, frame):
        self.frames.append(frame)

    def begin_utterance(self, ms):
        self.began = ms

    def end_utterance(self):
        pass

    async def transcribe(self):
        if self.fail:
            raise ProviderServerError("gone", 500)
        return Transcript(f"{self.name}:{len(self.frames)}")

    async def aclose(self):
        pass


async def test_stt_opens_the_next_provider_when_the_first_refuses():
    chain = FallbackSTT([STT("cloud", refuse=True), STT("local")])
    stream = await chain.open_stream(16000)
    stream.push(b"x")
    assert (await stream.transcribe()).text == "local:1"
    assert chain.switches == {"cloud>local": 1}


async def test_stt_replays_the_utterance_into_the_fallback_mid_call():
    cloud, local = STT("cloud", fail_transcribe=True), STT("local")
    stream = await FallbackSTT([cloud, local]).open_stream(16000)
    stream.begin_utterance(200)
    for _ in range(10):
        stream.push(b"f")
    assert (await stream.transcribe()).text == "local:10"
    assert local.began == 200  # the utterance start, replayed where it was given
