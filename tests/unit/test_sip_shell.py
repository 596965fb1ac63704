"""The SIP shell on loopback UDP, without models: what the listener answers, and what the media
does with RTP from the caller and from anyone else."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools

import numpy as np
import pytest

from voxline.audio.g711 import ulaw_encode
from voxline.config import Settings, SIPSettings
from voxline.protocols.rtp.dtmf import event_packets
from voxline.protocols.rtp.packet import RtpPacket, parse_rtp
from voxline.protocols.sip.auth import digest_authorization
from voxline.protocols.sip.message import parse_message
from voxline.protocols.sip.sdp import AudioPlan
from voxline.transports.sip import SipAgent
from voxline.transports.sip.media import MediaSession
from voxline.transports.sip.ports import RtpPorts


class Peer(asyncio.DatagramProtocol):
    """A UDP socket that keeps what it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.received.put_nowait(data)

    @property
    def port(self) -> int:
        return self.transport.get_extra_info("sockname")[1]


async def peer() -> Peer:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
    return protocol


def invite(port: int, *, body: str | None = None, extra: str = "", branch: str = "z9hG4bK1",
           cseq_method: str = "INVITE") -> bytes:
    sdp = body if body is not None else (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\n"
    )
    return (
        "INVITE sip:agent@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport\r\n"
        "From: <sip:caller@127.0.0.1>;tag=c1\r\nTo: <sip:agent@127.0.0.1>\r\n"
        f"Call-ID: shell-{branch}\r\nCSeq: 1 {cseq_method}\r\n"
        f"Contact: <sip:caller@127.0.0.1:{port}>\r\nMax-Forwards: 70\r\n{extra}"
        "Content-Type: application/sdp\r\n\r\n" + sdp
    ).encode()


async def answers(phone: Peer, count: int) -> list:
    return [parse_message(await asyncio.wait_for(phone.received.get(), 5))
            for _ in range(count)]


@pytest.fixture
async def agent():
    settings = Settings(sip=SIPSettings(enabled=True, port=0, auth_users={"trunk": "s3cret"}))
    sip = SipAgent(settings, lambda: None)  # no models: an authorised INVITE gets 503
    await sip.start()
    yield sip
    await sip.stop()


async def test_malformed_gets_400_unauthorised_401_and_the_right_password_gets_through(agent):
    phone = await peer()
    target = ("127.0.0.1", agent.port)
    phone.transport.sendto(b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n", target)
    phone.transport.sendto(invite(phone.port, cseq_method="BYE"), target)
    (bad,) = await answers(phone, 1)
    assert bad.status == 400 and "does not match" in bad.headers.get("Warning")
    phone.transport.sendto(invite(phone.port, branch="z9hG4bK2"), target)
    trying, challenge = await answers(phone, 2)
    assert (trying.status, challenge.status) == (100, 401)
    header = digest_authorization(challenge.headers.get("WWW-Authenticate"), username="trunk",
                                  password="s3cret", method="INVITE", uri="sip:agent@127.0.0.1")
    phone.transport.sendto(invite(phone.port, branch="z9hG4bK3",
                                  extra=f"Authorization: {header}\r\n"), target)
    trying, busy = await answers(phone, 2)
    assert busy.status == 503 and busy.headers.get("Retry-After") == "5"
    assert agent.refused == {"forbidden": 0, "unauthorized": 1, "busy": 1, "codec": 0,
                             "bad_sdp": 0}
    assert agent.endpoint.counts["malformed"] == 2  # the garbage could not even be answered
    phone.transport.close()


async def test_a_retransmitted_invite_gets_the_same_final_answer_again(agent):
    phone = await peer()
    target = ("127.0.0.1", agent.port)
    phone.transport.sendto(invite(phone.port, branch="z9hG4bK9"), target)
    first = await answers(phone, 2)
    phone.transport.sendto(invite(phone.port, branch="z9hG4bK9"), target)
    (again,) = await answers(phone, 1)
    assert again.status == first[1].status == 401
    assert again.to.tag == first[1].to.tag
    phone.transport.close()


async def test_options_is_answered_with_what_we_allow(agent):
    phone = await peer()
    options = invite(phone.port, branch="z9hG4bKo", body="").replace(
        b"INVITE sip", b"OPTIONS sip", 1).replace(b"1 INVITE", b"1 OPTIONS")
    phone.transport.sendto(options, ("127.0.0.1", agent.port))
    (ok,) = await answers(phone, 1)
    assert ok.status == 200 and "BYE" in ok.headers.get_all("Allow")
    phone.transport.close()


@dataclasses.dataclass
class FakeCall:
    frames: list[bytes] = dataclasses.field(default_factory=list)
    digits: list[str] = dataclasses.field(default_factory=list)
    agent_audio: list[bytes] = dataclasses.field(default_factory=list)

    def receive(self, frame: bytes) -> None:
        self.frames.append(frame)

    def next_frame(self) -> bytes | None:
        return self.agent_audio.pop(0) if self.agent_audio else None

    def dtmf(self, digit: str) -> None:
        self.digits.append(digit)


def tone(ms: int = 20) -> bytes:
    t = np.arange(8 * ms) / 8000
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()


@contextlib.asynccontextmanager
async def bound_media(call: FakeCall, caller: Peer):
    """A MediaSession for `call` talking to `caller`, bound to a port; all closed afterwards."""
    plan = AudioPlan(0, "PCMU", 101, "127.0.0.1", caller.port, "sendrecv", 0)
    media = MediaSession(call, plan, signalling_host="127.0.0.1")
    ports = RtpPorts("127.0.0.1", 41000, 41100)
    port = await ports.bind(media)
    try:
        yield media, port
    finally:
        media.close()
        ports.release(port)
        caller.transport.close()


async def test_media_is_symmetric_ignores_strangers_and_delivers_keys():
    caller, stranger = await peer(), await peer()
    plan = AudioPlan(0, "PCMU", 101, "127.0.0.1", caller.port, "sendrecv", 0)
    call = FakeCall(agent_audio=[bytes(640)] * 3)
    media = MediaSession(call, plan, signalling_host="127.0.0.1")
    ports = RtpPorts("127.0.0.1", 41000, 41100)
    port = await ports.bind(media)
    for seq in range(10):  # one packet per tick, as a phone sends them
        caller.transport.sendto(
            RtpPacket(0, seq, seq * 160, 77, ulaw_encode(tone())).to_bytes(),
            ("127.0.0.1", port))
        stranger.transport.sendto(
            RtpPacket(0, seq, seq * 160, 99, bytes(160)).to_bytes(), ("127.0.0.1", port))
        await asyncio.sleep(0.01)
        media.tick()
    for i, packet in enumerate(event_packets("7")):
        caller.transport.sendto(RtpPacket(101, 10 + i, 1600, 77, packet.payload,
                                          packet.marker).to_bytes(), ("127.0.0.1", port))
    await asyncio.sleep(0.05)
    media.tick()
    media.tick()
    await asyncio.sleep(0.05)
    assert media.stats.ignored_source == 10 and media.stats.packets_in == 17
    assert call.digits == ["7"]
    loud = [f for f in call.frames if np.abs(np.frombuffer(f, dtype="<i2")).max() > 2000]
    assert len(loud) >= 5  # the caller's tone reached the engine, at the wire's 8 kHz
    assert all(len(f) == 320 for f in call.frames)
    sent = [parse_rtp(caller.received.get_nowait()) for _ in range(caller.received.qsize())]
    assert len(sent) == 12 and {p.payload_type for p in sent} == {0}
    assert stranger.received.empty()  # nothing goes back to the stranger
    seqs = [p.sequence for p in sent]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(12)]
    stamps = [p.timestamp for p in sent]
    assert all((b - a) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(stamps))
    # On hold (we may only receive): the clock runs on, nothing is sent.
    media.update(dataclasses.replace(plan, direction="recvonly"))
    for _ in range(5):
        media.tick()
    await asyncio.sleep(0.05)
    assert caller.received.empty()
    media.close()
    ports.release(port)
    for sock in (caller, stranger):
        sock.transport.close()


async def test_an_answer_released_between_ticks_leaves_at_once():
    caller, call = await peer(), FakeCall()
    async with bound_media(call, caller) as (media, _port):
        running = asyncio.create_task(media.run())
        try:
            await asyncio.sleep(0.05)  # idle ticks: comfort silence only
            assert media.stats.audio_packets_out == 0
            call.agent_audio.extend([bytes(640)] * 5)
            media.wake()  # what the call's AudioOut does when the endpoint releases an answer
            for _ in range(5):
                await asyncio.sleep(0)
            assert media.early_ticks == 1 and media.stats.audio_packets_out == 1
            media.wake()  # mid-answer the 20 ms schedule rules
            for _ in range(5):
                await asyncio.sleep(0)
            assert media.early_ticks == 1
        finally:
            running.cancel()


async def test_caller_packets_reach_the_engine_on_arrival_and_a_gap_is_waited_then_concealed():
    caller, call = await peer(), FakeCall()
    async with bound_media(call, caller) as (media, port):
        def send(seq: int) -> None:
            packet = RtpPacket(0, seq, seq * 160, 77, ulaw_encode(tone()))
            caller.transport.sendto(packet.to_bytes(), ("127.0.0.1", port))

        async def frames(n: int) -> None:
            async with asyncio.timeout(2):
                while len(call.frames) < n:
                    await asyncio.sleep(0.001)

        for seq in range(3):
            send(seq)
        await frames(3)  # no tick ran: each packet was handed on as it came
        assert media.exact_until_ms is None and media.stats.frames_in == 3
        send(4)  # 3 is missing: 4 waits for it, at most the gap wait
        await asyncio.sleep(0.01)
        media.tick()
        assert len(call.frames) == 3
        await asyncio.sleep(0.05)
        media.tick()
        assert len(call.frames) == 5  # slot 3 concealed, then 4
        send(3)  # too late now
        await asyncio.sleep(0.02)
        summary = media.inbound_summary()
        assert (summary["concealed"], summary["late"], summary["released"]) == (1, 1, 4)
        assert summary["exact_until_ms"] == 60  # three frames were the caller's packets 0-2


async def test_each_answer_opens_a_talkspurt_with_the_marker_and_quiet_ticks_send_silence():
    caller, call = await peer(), FakeCall()
    async with bound_media(call, caller) as (media, _port):
        loud = np.full(320, 4000, dtype="<i2").tobytes()
        for _ in range(2):  # two answers, each followed by quiet ticks
            call.agent_audio.extend([loud] * 3)
            for _ in range(10):
                media.tick()
        await asyncio.sleep(0.05)
        sent = [parse_rtp(caller.received.get_nowait()) for _ in range(caller.received.qsize())]
        assert [p.marker for p in sent].count(True) == 2  # RFC 3551: one per talkspurt
        assert media.stats.audio_packets_out == 2 * 4  # three frames and the filter's tail
        assert sent[-1].payload == media._codec.silence and not sent[-1].marker
