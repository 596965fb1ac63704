"""The caller harness over SIP (its own UAC, RTP on loopback) measures a delay it is told
about, answers a digest challenge, and notices when the far end hangs up."""

from __future__ import annotations

import pytest
from caller_delay_checks import FRAME_MS, check_against_agent
from test_caller_twilio import STOP_MS, speech_like

from voxline.bench.caller import Script, ScriptTurn, UnreachableError, place_call
from voxline.bench.caller.delay.sip_peer import sip_delay_agent
from voxline.bench.caller.rtp_media import RtpMedia


@pytest.fixture
def script(tmp_path):
    short, long = speech_like(tmp_path / "a.wav"), speech_like(tmp_path / "b.wav", 1.2)
    return Script([ScriptTurn(short, pause_ms=300), ScriptTurn(short, pause_ms=200),
                   ScriptTurn(long, barge_in_after_ms=400)], answer_quiet_ms=300)


@pytest.mark.parametrize("delay_ms", [300, 700])
async def test_voice_to_voice_and_barge_in_stop_match_the_injected_delay(script, delay_ms):
    async with sip_delay_agent(delay_ms, STOP_MS, users={"alice": "s3cret"}) as agent:
        result = await place_call(agent.uri, "sip", script, timeout_s=30,
                                  sip_username="alice", sip_password="s3cret")
        await _until(lambda: agent.calls[0].ended_by is not None)
    assert agent.challenges == 1 and agent.calls[0].ended_by == "caller"  # our BYE
    assert result.ended_by == "caller" and result.setup_ms is not None
    check_against_agent(result, agent.brains[0], delay_ms, STOP_MS, barge_turn=2)
    assert result.sequence_gaps == 0  # loopback loses nothing


async def test_a_hang_up_by_the_far_end_ends_the_call_and_keeps_the_turns_so_far(script):
    async with sip_delay_agent(300, hang_up_after_s=2.5) as agent:
        result = await place_call(agent.uri, "sip", script, timeout_s=30)
    assert result.ended_by == "server"
    assert result.turns and result.turns[0].answered
    assert abs(result.turns[0].voice_to_voice_ms - 300) <= 3 * FRAME_MS


async def test_challenged_without_credentials_says_what_to_pass(script):
    async with sip_delay_agent(300, users={"alice": "s3cret"}) as agent:
        with pytest.raises(UnreachableError, match="username and password"):
            await place_call(agent.uri, "sip", script, timeout_s=10)


def test_rtp_sequence_gaps_are_counted():
    heard = []
    media = RtpMedia(lambda pcm, now: heard.append(pcm))
    from voxline.protocols.rtp.packet import RtpPacket

    for seq in (65534, 65535, 2, 3, 1):  # 0 and 1 lost over the wrap; 1 then comes too late
        media.datagram_received(RtpPacket(0, seq, seq * 160, 7, b"\xff" * 160).to_bytes(), None)
    assert media.sequence_gaps == 2 and len(heard) == 4


async def _until(condition, timeout_s: float = 5.0) -> None:
    import asyncio

    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)
