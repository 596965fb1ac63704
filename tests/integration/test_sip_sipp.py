"""The SIP transport against sipp (Debian sip-tester) on loopback, with the embedded models.

A question spoken over RTP is transcribed and answered; a CANCEL while ringing gets 487; a
malformed INVITE gets 400 while a concurrent call completes; 20 calls at once all complete;
an offer without G.711 gets 488.
"""

from __future__ import annotations

import asyncio

import pytest

from voxline.testing.log_context import bound_context
from voxline.testing.sip_peers import (
    free_udp_port,
    have,
    run_sipp,
    sip_agent,
    wait_for,
    write_pcmu,
)

pytestmark = [
    pytest.mark.models,
    pytest.mark.skipif(not have("sipp"), reason="sipp (Debian sip-tester) is not installed: "
                       "make debian"),
]


async def test_a_spoken_question_over_rtp_is_transcribed_and_answered(
    settings, providers, caller_wavs, key_words, tmp_path
):
    audio = tmp_path / "question.pcmu"
    write_pcmu(caller_wavs["hours"], audio)
    async with sip_agent(settings, providers) as agent:
        sipp = asyncio.ensure_future(run_sipp(
            "uac_question.xml", agent.port, tmp_path, timeout_s=150,
            fill={"AUDIO": str(audio), "WAIT_MS": "120000"}))
        await wait_for(lambda: agent.calls or sipp.done(), 30, "the call was never set up")
        (call,) = agent.calls.values()
        # The turn record exists once the answer has been played out to the caller.
        await wait_for(lambda: call.call.records or sipp.done(), 120, "no answer")
        info = call.dialog.request("INFO", agent.endpoint.via())
        responses = await agent.endpoint.request(info, call.addr)
        assert (await asyncio.wait_for(responses.get(), 10)).status == 200
        result = await sipp
        await wait_for(lambda: agent.finished, 10, "the call did not end")
    assert result.returncode == 0, result.output[-2000:]
    (summary,) = agent.finished
    assert summary.ended_by == "bye" and summary.answered and summary.codec == "PCMU"
    (record,) = summary.records
    assert record.transport == "sip" and record.outcome == "answered"
    words = record.transcript.lower()
    assert any(word in words for word in key_words["hours"]), record.transcript
    assert record.reply and record.latency["turn_latency_ms"] is not None
    assert summary.media.packets_in >= 100  # ~2.6 s of question at 50 packets a second
    assert summary.media.audio_packets_out >= 25  # at least half a second of spoken answer
    assert summary.media.ignored_source == 0 and summary.media.bad_packets == 0


async def test_cancel_while_ringing_gets_487_and_no_call_starts(settings, providers, tmp_path):
    with bound_context() as bound:
        async with sip_agent(settings, providers, ring_ms=8000) as agent:
            result = await run_sipp("uac_cancel.xml", agent.port, tmp_path, timeout_s=30)
            await wait_for(lambda: agent.finished, 10, "the cancelled call did not end")
    assert result.returncode == 0, result.output[-2000:]
    (summary,) = agent.finished
    # The lines logged from the socket's callbacks and the call's task carry its call_id.
    assert bound.naming(summary.call_id) and bound.unbound(summary.call_id) == []
    assert summary.ended_by == "cancel" and not summary.answered
    assert summary.records == [] and summary.media.packets_out == 0


async def test_a_malformed_invite_gets_400_while_another_call_completes(
    settings, providers, tmp_path
):
    (tmp_path / "bad").mkdir()
    (tmp_path / "good").mkdir()
    async with sip_agent(settings, providers) as agent:
        good = asyncio.ensure_future(run_sipp(
            "uac_short_call.xml", agent.port, tmp_path / "good", timeout_s=40,
            fill={"TALK_MS": "4000"}))
        await asyncio.sleep(0.5)
        bad = await run_sipp("uac_malformed.xml", agent.port, tmp_path / "bad", timeout_s=20)
        good = await good
        await wait_for(lambda: agent.finished, 10, "the good call did not end")
    assert bad.returncode == 0, bad.output[-2000:]
    assert good.returncode == 0 and good.successful == 1, good.output[-2000:]
    assert agent.endpoint.counts["malformed"] == 1
    (summary,) = agent.finished
    assert summary.ended_by == "bye" and summary.codec == "PCMA"  # the offer's first choice
    assert summary.media.packets_out > 100  # comfort silence flowed for the 4 s


async def test_twenty_concurrent_calls_all_complete(settings, providers, tmp_path):
    async with sip_agent(settings, providers) as agent:
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, len(agent.calls))
                await asyncio.sleep(0.05)

        watcher = asyncio.ensure_future(watch())
        result = await run_sipp("uac_short_call.xml", agent.port, tmp_path, calls=20,
                                concurrent=20, rate=40, timeout_s=90,
                                fill={"TALK_MS": "6000"})
        await wait_for(lambda: len(agent.finished) == 20, 20, "not every call ended")
        watcher.cancel()
    assert result.returncode == 0, result.output[-3000:]
    assert (result.successful, result.failed) == (20, 0)
    assert peak == 20  # all twenty were up at the same time
    assert {s.ended_by for s in agent.finished} == {"bye"}
    assert len({s.call_id for s in agent.finished}) == 20
    assert all(s.media.packets_out > 100 for s in agent.finished)


async def test_an_offer_without_g711_gets_488(settings, providers, tmp_path):
    async with sip_agent(settings, providers) as agent:
        result = await run_sipp("uac_no_codec.xml", agent.port, tmp_path, timeout_s=20)
    assert result.returncode == 0, result.output[-2000:]
    assert agent.refused["codec"] == 1 and not agent.finished


async def test_a_source_outside_the_allowlist_is_refused(settings, providers, tmp_path):
    async with sip_agent(settings, providers, allow_from=["192.0.2.0/24"]) as agent:
        result = await run_sipp("uac_short_call.xml", agent.port, tmp_path, timeout_s=15,
                                fill={"TALK_MS": "100"})
    assert result.returncode != 0 and result.failed == 1
    assert agent.refused["forbidden"] >= 1 and not agent.finished


async def test_hold_and_unhold_by_re_invite(settings, providers, tmp_path):
    async with sip_agent(settings, providers) as agent:
        result = await run_sipp("uac_hold.xml", agent.port, tmp_path, timeout_s=30)
        await wait_for(lambda: agent.finished, 10, "the call did not end")
    assert result.returncode == 0, result.output[-2000:]
    (summary,) = agent.finished
    assert summary.holds == 1 and summary.ended_by == "bye"
    # Two seconds up, one second held: the held second sent nothing, so well under 3 s.
    assert 50 < summary.media.packets_out < 140


@pytest.mark.parametrize(("password", "answered"), [("s3cret", True), ("wrong", False)])
async def test_an_outbound_call_answers_a_digest_challenge(
    settings, providers, tmp_path, password, answered
):
    port = free_udp_port()
    async with sip_agent(settings, providers) as agent:
        far_end = asyncio.ensure_future(
            run_sipp("uas_dialed.xml", None, tmp_path, listen=port, timeout_s=40))
        await asyncio.sleep(1.0)  # sipp binds its port
        dialing = asyncio.ensure_future(agent.dial(
            f"sip:callee@127.0.0.1:{port}", username="dialer", password=password))
        if answered:
            await wait_for(lambda: any(c.answered for c in agent.calls.values()), 20,
                           "the far end never answered")
            await asyncio.sleep(2.0)  # the agent's comfort silence flows to the callee
            for call in agent.calls.values():
                call.hang_up()
        summary = await asyncio.wait_for(dialing, 30)
        result = await far_end
    assert result.returncode == 0, result.output[-2000:]
    assert summary.answered is answered
    if answered:
        assert summary.ended_by == "local" and summary.codec == "PCMU"
        assert summary.media.packets_out > 50
    else:
        assert summary.ended_by == "rejected:403" and summary.media.packets_out == 0
