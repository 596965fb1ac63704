"""ElevenLabsTTS against the loopback ElevenLabs-protocol server (real Piper speech)."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from voxline.audio.pcm import duration_ms, rms_dbfs
from voxline.errors import (
    ProtocolViolation,
    ProviderConnectError,
    ProviderError,
    ProviderServerError,
    ProviderTimeout,
    RateLimited,
)
from voxline.protocols import elevenlabs as el
from voxline.providers.base import SpeechChunk
from voxline.providers.elevenlabs import ElevenLabsTTS
from voxline.testing.elevenlabs_server import ElevenLabsServer
from voxline.testing.profile import Fault, FaultPlan, LatencyProfile

pytestmark = pytest.mark.models

CLAUSES = ["Good morning, thanks for calling.", "How can I help you today?", "We open at nine."]
LONG = ["Our clinic offers general checkups, vaccinations, blood tests and physiotherapy."] * 3


async def _clauses(items: list[str], gap_s: float = 0.0):
    for text in items:
        if gap_s:
            await asyncio.sleep(gap_s)
        yield text


async def _collect(tts: ElevenLabsTTS, items: list[str], **kwargs) -> list[SpeechChunk]:
    return [chunk async for chunk in tts.stream(_clauses(items), **kwargs)]


async def _stalled(first: str):
    """One clause, then an LLM that is still thinking: the turn cannot end by itself."""
    yield first
    await asyncio.Event().wait()


def _tts(server: ElevenLabsServer, **kwargs) -> ElevenLabsTTS:
    kwargs.setdefault("timeout_s", 10.0)
    return ElevenLabsTTS("voice-1", api_key="test-key", base_url=server.base_url, **kwargs)


def _check_clauses(chunks: list[SpeechChunk], items: list[str], rate: int) -> None:
    assert chunks and all(c.rate == rate for c in chunks)
    order = [c.clause for c in chunks]
    assert order == sorted(order) and set(order) == set(range(len(items)))
    for index, text in enumerate(items):
        mine = [c for c in chunks if c.clause == index]
        assert all(c.text == text for c in mine)
        assert [c.last for c in mine] == [False] * (len(mine) - 1) + [True]
        pcm = b"".join(c.pcm for c in mine)
        assert duration_ms(pcm, rate) > 300, f"clause {index} has almost no audio"
        assert rms_dbfs(pcm) > -35, f"clause {index} is silent"
        # Every aligned character of a chunk comes from that chunk's clause.
        heard = "".join(ch for c in mine for ch, _, _ in c.alignment or () if not ch.isspace())
        assert heard == "".join(text.split())


@pytest.fixture
async def server():
    async with ElevenLabsServer(profile=LatencyProfile.instant()) as srv:
        yield srv


async def test_clauses_give_speech_at_16k_tagged_by_clause(server) -> None:
    tts = _tts(server)
    assert (tts.name, tts.rate) == ("elevenlabs/eleven_flash_v2_5", 16000)
    await tts.warm()
    chunks = await _collect(tts, CLAUSES)
    _check_clauses(chunks, CLAUSES, 16000)
    assert all(c.alignment for c in chunks if c.pcm)
    session = server.sessions[0]
    assert session.voice_id == "voice-1"
    assert session.query["output_format"] == "pcm_16000"
    assert session.query["model_id"] == "eleven_flash_v2_5"
    assert session.texts == [t + " " for t in CLAUSES]
    assert session.final_sent
    assert server.texts_received == 3
    await tts.aclose()


async def test_clauses_merged_into_one_generation_are_still_cut_per_clause(server) -> None:
    # Without auto_mode the server buffers to the chunk schedule, so one generation spans
    # clauses: the alignment is what splits the audio.
    tts = _tts(server, auto_mode=False, chunk_length_schedule=(150, 150))
    chunks = await _collect(tts, CLAUSES)
    _check_clauses(chunks, CLAUSES, 16000)
    assert len(server.sessions[-1].generations) < len(CLAUSES)


# mp3 adds the encoder's delay and padding (~50 ms) to each generation.
@pytest.mark.parametrize(
    ("fmt", "rate", "slack_ms"), [("ulaw_8000", 8000, 20), ("mp3_44100_128", 44100, 250)]
)
async def test_output_format_per_call(server, fmt, rate, slack_ms) -> None:
    tts = _tts(server)
    await tts.warm()
    reference = await _collect(tts, CLAUSES)
    chunks = await _collect(tts, CLAUSES, output_format=fmt)
    _check_clauses(chunks, CLAUSES, rate)
    assert server.sessions[-1].query["output_format"] == fmt
    pcm_ms = duration_ms(b"".join(c.pcm for c in chunks), rate)
    ref_ms = duration_ms(b"".join(c.pcm for c in reference), 16000)
    assert abs(pcm_ms - ref_ms) < slack_ms


async def test_pooled_socket_spares_the_second_turn_the_handshake() -> None:
    delay = 0.4
    async with ElevenLabsServer(profile=LatencyProfile.instant(), handshake_delay_s=delay) as srv:
        cold = _tts(srv, warm_connections=0)
        t0 = time.monotonic()
        async for _ in cold.stream(_clauses(CLAUSES[:1])):
            cold_first = time.monotonic() - t0
            break
        assert cold_first >= delay

        tts = _tts(srv)
        await tts.warm()
        await _collect(tts, CLAUSES[:1])  # turn 1 takes the warm socket; a new one opens
        await tts.warm()  # wait for the replacement
        before = srv.connections
        start = time.monotonic()
        async for chunk in tts.stream(_clauses(CLAUSES[:1])):
            first = time.monotonic() - start
            break
        assert chunk.pcm
        assert first < delay / 2, f"first chunk after {first * 1000:.0f} ms: paid a handshake"
        served = next(s for s in srv.sessions if s.texts and s.first_text_at >= start)
        assert served.opened_at < start  # its handshake happened before the turn began
        assert served.index < before
        await tts.aclose()
        await cold.aclose()


async def test_a_pooled_socket_the_server_closed_is_replaced(server) -> None:
    tts = _tts(server)
    await tts.warm()
    await server.disconnect_all()
    await asyncio.wait_for(server.sessions[0].closed.wait(), 1.0)
    await asyncio.sleep(0.2)  # the client hears the close frame
    chunks = await _collect(tts, CLAUSES)
    _check_clauses(chunks, CLAUSES, 16000)
    assert not server.sessions[0].texts  # the dead socket was not used
    await tts.aclose()


async def test_cancelling_mid_stream_closes_the_socket_at_once(server) -> None:
    tts = _tts(server, warm_connections=0)
    got = asyncio.Event()

    async def consume() -> None:
        async for _ in tts.stream(_stalled(LONG[0])):
            got.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got.wait(), 30)
    session = server.sessions[-1]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(session.closed.wait(), 1.0)
    assert not session.final_sent

    # Leaving the loop early (aclose) does the same.
    stream = tts.stream(_stalled(LONG[0]))
    await anext(stream)
    session = server.sessions[-1]
    await stream.aclose()
    await asyncio.wait_for(session.closed.wait(), 1.0)
    assert not session.final_sent


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.AUTH, ProviderConnectError),
        (Fault.RATE_LIMIT, RateLimited),
        (Fault.SERVER_ERROR, ProviderServerError),
        (Fault.MALFORMED, ProtocolViolation),
    ],
)
async def test_faults_raise_typed_errors(fault, error) -> None:
    plan = FaultPlan(fault, on_requests=frozenset({0}), retry_after_s=2.0)
    async with ElevenLabsServer(profile=LatencyProfile.instant(), faults=plan) as srv:
        tts = _tts(srv, warm_connections=0)
        with pytest.raises(error) as info:
            await _collect(tts, CLAUSES)
        if fault is Fault.RATE_LIMIT:
            assert info.value.retry_after_s == 2.0
        if fault is Fault.SERVER_ERROR:
            assert info.value.status == 500
        assert srv.connections == 1  # no silent retry: the fallback chain decides
        chunks = await _collect(tts, CLAUSES)  # the next connection is healthy
        _check_clauses(chunks, CLAUSES, 16000)


async def test_auth_fault_fails_warm_at_start_up() -> None:
    plan = FaultPlan(Fault.AUTH)
    async with ElevenLabsServer(profile=LatencyProfile.instant(), faults=plan) as srv:
        with pytest.raises(ProviderConnectError):
            await _tts(srv).warm()


async def test_wrong_key_is_refused() -> None:
    async with ElevenLabsServer(api_key="right", profile=LatencyProfile.instant()) as srv:
        with pytest.raises(ProviderConnectError):
            await _collect(_tts(srv, warm_connections=0), CLAUSES)


async def test_server_refuses_a_bad_key_in_the_first_message() -> None:
    async with ElevenLabsServer(profile=LatencyProfile.instant()) as srv:
        url = el.stream_input_url(srv.base_url, "v")
        async with connect(url) as ws:
            await ws.send(el.init_message("wrong-key"))
            reply = el.parse(await ws.recv())
            assert isinstance(reply, el.ErrorMessage) and reply.error == "invalid_api_key"
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1008
        async with connect(url) as ws:  # the right key in the first message is accepted
            await ws.send(el.init_message("test-key"))
            await ws.send(el.text_message("Hello."))
            await ws.send(el.close_message())
            frames = [el.parse(m) async for m in ws]
            assert frames[-1] == el.AudioMessage(b"", True, None)
            assert any(isinstance(f, el.AudioMessage) and f.audio for f in frames)


async def test_drop_mid_stream_raises_after_the_audio_that_arrived() -> None:
    plan = FaultPlan(Fault.DROP_MID_STREAM)
    async with ElevenLabsServer(profile=LatencyProfile.instant(), faults=plan) as srv:
        tts = _tts(srv)
        await tts.warm()
        received: list[SpeechChunk] = []
        with pytest.raises(ProviderError) as info:
            async for chunk in tts.stream(_clauses(CLAUSES)):
                received.append(chunk)
        assert not isinstance(info.value, ProviderTimeout)
        assert len(received) == 1 and received[0].pcm and received[0].clause == 0
        assert srv.sessions[0].audio_chunks == 1


async def test_slow_first_chunk_arrives_late_or_times_out() -> None:
    plan = FaultPlan(Fault.SLOW_FIRST, on_requests=frozenset({0, 1}), slow_first_s=0.6)
    async with ElevenLabsServer(profile=LatencyProfile.instant(), faults=plan) as srv:
        tts = _tts(srv, warm_connections=0)
        start = time.monotonic()
        async for _ in tts.stream(_clauses(CLAUSES)):
            assert time.monotonic() - start >= 0.6
            break
        impatient = _tts(srv, warm_connections=0, timeout_s=0.2)
        with pytest.raises(ProviderTimeout):
            await _collect(impatient, CLAUSES)
