"""DeepgramStream sends caller audio SEND_CHUNK_MS at a time, and never holds any of it back
from a Finalize, a CloseStream, the end of an utterance or a reconnect's replay."""

from __future__ import annotations

import pytest

from voxline.errors import ProviderTimeout
from voxline.protocols import deepgram as dg
from voxline.providers import deepgram as deepgram_module
from voxline.providers.deepgram import SEND_CHUNK_MS, DeepgramStream

RATE = 16000
FRAME = 640  # 20 ms of PCM16 at 16 kHz
PER_CHUNK = SEND_CHUNK_MS // 20


def _stream(provider_endpointing: bool = False) -> DeepgramStream:
    # Never connected: what it would send is what its socket has queued.
    return DeepgramStream("ws://127.0.0.1:9/v1/listen", name="deepgram/test", api_key="k",
                          rate=RATE, encoding="linear16",
                          provider_endpointing=provider_endpointing)


def _queued(stream: DeepgramStream) -> list[bytes | str]:
    return list(stream._socket._queue._messages)


def _frames(n: int, first: int = 0) -> list[bytes]:
    return [bytes([(first + i) % 256]) * FRAME for i in range(n)]


async def test_frames_go_out_in_chunks_in_order():
    stream = _stream()
    frames = _frames(2 * PER_CHUNK + 1)
    for f in frames:
        stream.push(f)
    assert _queued(stream) == [b"".join(frames[:PER_CHUNK]),
                               b"".join(frames[PER_CHUNK:2 * PER_CHUNK])]
    assert stream._pushed == len(frames) * FRAME // 2  # positions count every frame at once


async def test_with_provider_endpointing_every_frame_goes_out_at_once():
    stream = _stream(provider_endpointing=True)
    frames = _frames(3)
    for f in frames:
        stream.push(f)
    assert _queued(stream) == frames


async def test_held_audio_goes_out_before_finalize(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(deepgram_module, "FINALIZE_SLACK_MS", 0)
    stream = DeepgramStream("ws://127.0.0.1:9/v1/listen", name="deepgram/test", api_key="k",
                            rate=RATE, encoding="linear16", provider_endpointing=False)
    stream.finalize_timeout_s = 0.01  # nothing answers: only what was sent matters here
    frames = _frames(PER_CHUNK + 2)
    for f in frames:
        stream.push(f)
    with pytest.raises(ProviderTimeout):
        await stream.transcribe()
    assert _queued(stream) == [b"".join(frames[:PER_CHUNK]), b"".join(frames[PER_CHUNK:]),
                               dg.finalize()]


async def test_end_of_utterance_sends_what_is_held():
    stream = _stream()
    frames = _frames(1)
    stream.push(frames[0])
    assert _queued(stream) == []
    stream.end_utterance()
    assert _queued(stream) == frames


async def test_keepalive_sends_held_audio_first():
    stream = _stream()
    stream.push(_frames(1)[0])
    assert stream._keepalive() == _frames(1)[0]
    assert stream._keepalive() == dg.keepalive()


async def test_reconnect_replays_unacknowledged_audio_in_chunks_and_drops_nothing():
    stream = _stream()
    frames = _frames(3 * PER_CHUNK + 1)
    for f in frames:
        stream.push(f)
    stream._acked = PER_CHUNK * FRAME // 2  # Deepgram finalized the first chunk's audio
    await stream._on_reconnect()
    # Everything after the acknowledged audio, held frames included, once, in order.
    assert b"".join(_queued(stream)) == b"".join(frames[PER_CHUNK:])
    assert [len(m) for m in _queued(stream)] == [PER_CHUNK * FRAME, PER_CHUNK * FRAME, FRAME]
    assert stream._origin == PER_CHUNK * FRAME // 2
