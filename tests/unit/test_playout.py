import asyncio

import numpy as np
import pytest

from voxline.providers.base import SpeechChunk
from voxline.session.playout import AudioOut


def tone(rate: int, ms: int) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16).tobytes()


async def test_chunks_become_20ms_frames_at_the_engine_rate_and_are_accounted():
    out = AudioOut(16000)
    out.start_reply()
    await out.play(SpeechChunk(tone(22050, 500), 22050, 0, "First clause,", last=True))
    await out.play(SpeechChunk(tone(22050, 300), 22050, 1, "second one.", last=True))
    frames = []
    while (frame := out.next_frame()) is not None:
        frames.append(frame)
    assert all(len(f) == 640 for f in frames)
    assert 39 <= len(frames) <= 42  # 800 ms, each clause rounded up to whole frames
    segments = out.segments()
    assert [s.text for s in segments] == ["First clause,", "second one."]
    assert segments[0].duration_ms == pytest.approx(500, abs=20)
    assert out.played_ms == len(frames) * 20


async def test_clear_silences_the_very_next_frame():
    out = AudioOut(16000)
    await out.play(SpeechChunk(tone(16000, 1000), 16000, 0, "long", last=True))
    assert out.next_frame() is not None
    assert out.clear() == 49
    assert out.next_frame() is None and not out.speaking
    assert out.played_ms == 20


async def test_held_audio_waits_for_release():
    out = AudioOut(16000)
    out.hold()
    await out.play(SpeechChunk(tone(16000, 100), 16000, 0, "held", last=True))
    assert out.next_frame() is None and out.speaking
    out.release()
    assert out.next_frame() is not None


async def test_producer_waits_when_the_queue_is_full():
    out = AudioOut(16000, max_queued_ms=200)
    producer = asyncio.create_task(
        out.play(SpeechChunk(tone(16000, 1000), 16000, 0, "x", last=True))
    )
    await asyncio.sleep(0.01)
    assert not producer.done()  # 1 s of audio does not fit in 200 ms
    for _ in range(50):
        out.next_frame()
        await asyncio.sleep(0)
    await asyncio.wait_for(producer, 1)


async def test_it_tells_once_when_audio_becomes_playable():
    out = AudioOut(16000)
    told = []
    out.on_playable = lambda: told.append(out.speaking)
    out.hold()  # a speculative answer: queued, not playable
    await out.play(SpeechChunk(tone(16000, 100), 16000, 0, "held", last=True))
    assert told == []
    out.release()  # the endpoint confirms it
    assert told == [True]
    await out.play(SpeechChunk(tone(16000, 100), 16000, 1, "more", last=True))
    assert told == [True]  # already playing: nothing new to tell
    while out.next_frame() is not None:
        pass
    await out.play(SpeechChunk(tone(16000, 100), 16000, 2, "again", last=True))
    assert told == [True, True]  # playable again after running dry
    out.clear()
    out.release()  # nothing queued: nothing to tell
    assert told == [True, True]
