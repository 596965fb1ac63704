"""A fallback STT chain replays what the failed provider was fed, and answers as of the moment
the transcript was asked for."""

import asyncio

from voxline.errors import ProviderTimeout
from voxline.providers.base import Transcript
from voxline.providers.fallback import FallbackSTT


class Recorder:
    """An STT stream that logs what it is fed; its transcript names the open utterance's frames."""

    def __init__(self, name, fail=None):
        self.name, self.fail, self.log = name, fail, []
        self.closed = False

    async def open_stream(self, rate):
        return self

    def push(self, frame):
        self.log.append(frame.decode())

    def begin_utterance(self, ms):
        self.log.append(f"begin {ms:g}")

    def end_utterance(self):
        self.log.append("end")

    async def transcribe(self):
        if self.fail is not None:
            await self.fail.wait()  # stalls until the test says it has failed
            raise ProviderTimeout("no final in time")
        start = max(i for i, item in enumerate(self.log) if item.startswith("begin"))
        return Transcript(" ".join(self.log[start + 1 :]))

    async def aclose(self):
        self.closed = True


async def test_a_switch_after_the_endpoint_transcribes_the_utterance_that_was_asked_for():
    stalled = asyncio.Event()
    cloud, local = Recorder("cloud", fail=stalled), Recorder("local")
    chain = FallbackSTT([cloud, local])
    stream = await chain.open_stream(16000)
    stream.push(b"q")  # before the caller spoke
    stream.begin_utterance(20)
    stream.push(b"a")
    stream.push(b"b")
    asked = asyncio.ensure_future(stream.transcribe())
    await asyncio.sleep(0)
    stream.end_utterance()  # the endpoint, while the cloud provider is stalled
    stream.push(b"c")
    stalled.set()
    assert (await asked).text == "a b"
    stream.push(b"d")  # goes to the new provider, after everything before it
    assert local.log == ["q", "begin 20", "a", "b", "end", "c", "d"]
    assert chain.switches == {"cloud>local": 1}
    await stream.aclose()
    assert cloud.closed and local.closed


async def test_audio_that_arrives_during_the_switch_reaches_the_new_provider_in_order():
    gate = asyncio.Event()

    class SlowLocal(Recorder):
        async def transcribe(self):
            await gate.wait()
            return await super().transcribe()

    cloud, local = Recorder("cloud", fail=asyncio.Event()), SlowLocal("local")
    cloud.fail.set()
    stream = await FallbackSTT([cloud, local]).open_stream(16000)
    stream.begin_utterance(0)
    stream.push(b"a")
    asked = asyncio.ensure_future(stream.transcribe())
    await asyncio.sleep(0.01)  # the switch is waiting for the local transcript
    stream.push(b"b")
    stream.end_utterance()
    stream.begin_utterance(0)
    stream.push(b"c")
    assert local.log == ["begin 0", "a"]  # held back until the switch is done
    gate.set()
    assert (await asked).text == "a"
    assert local.log == ["begin 0", "a", "b", "end", "begin 0", "c"]
    assert (await stream.transcribe()).text == "c"


async def test_an_utterance_longer_than_what_is_kept_still_begins_on_the_new_provider():
    cloud, local = Recorder("cloud", fail=asyncio.Event()), Recorder("local")
    cloud.fail.set()
    stream = await FallbackSTT([cloud, local]).open_stream(16000)
    stream.MAX_KEPT_MS = 60  # three frames
    stream.begin_utterance(100)
    for frame in (b"a", b"b", b"c", b"d", b"e"):
        stream.push(frame)
    assert (await stream.transcribe()).text == "c d e"
    # Two frames fell out of what is kept: the utterance began 100 ms + 40 ms before "c".
    assert local.log == ["begin 140", "c", "d", "e"]


async def test_a_switch_cancelled_with_its_turn_still_leaves_the_new_provider_in_charge():
    gate = asyncio.Event()

    class SlowLocal(Recorder):
        async def transcribe(self):
            await gate.wait()
            return await super().transcribe()

    cloud, local = Recorder("cloud", fail=asyncio.Event()), SlowLocal("local")
    cloud.fail.set()
    stream = await FallbackSTT([cloud, local]).open_stream(16000)
    stream.begin_utterance(0)
    stream.push(b"a")
    asked = asyncio.ensure_future(stream.transcribe())
    await asyncio.sleep(0.01)
    stream.push(b"b")
    asked.cancel()  # the caller went on talking: the speculative turn is dropped
    await asyncio.gather(asked, return_exceptions=True)
    stream.push(b"c")
    assert local.log == ["begin 0", "a", "b", "c"]
    gate.set()
    assert (await stream.transcribe()).text == "a b c"
    assert cloud.closed
