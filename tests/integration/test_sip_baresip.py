"""A real softphone calls the agent: baresip (Debian) dials over UDP SIP on loopback, speaks a
question from a WAV (its aufile source) and dumps the audio it decodes (its sndfile module).
The question must be transcribed, and the agent's spoken answer must be in what baresip got."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voxline.testing.sip_peers import have, sip_agent, start_baresip_call, stopping, wait_for
from voxline.transports.file import ENERGY_FLOOR

pytestmark = [
    pytest.mark.models,
    pytest.mark.skipif(not have("baresip"), reason="baresip is not installed: make debian"),
]


def voiced_seconds(samples: np.ndarray, rate: int) -> float:
    """Seconds of 10 ms windows above the -40 dBFS floor."""
    window = rate // 100
    usable = len(samples) // window * window
    rms = np.sqrt(np.mean(samples[:usable].astype(np.float64).reshape(-1, window) ** 2, axis=1))
    return float(np.sum(rms > ENERGY_FLOOR)) / 100


async def test_baresip_asks_and_hears_the_agents_answer(
    settings, providers, caller_wavs, key_words, tmp_path
):
    async with sip_agent(settings, providers) as agent:
        target = f"sip:agent@127.0.0.1:{agent.port}"
        phone = await start_baresip_call(tmp_path / "baresip", caller_wavs["hours"], target)
        async with stopping(phone):
            await wait_for(lambda: agent.calls, 30, "baresip never got through")
            (call,) = agent.calls.values()
            await wait_for(lambda: call.call.records, 120, "the agent never answered")
            call.hang_up()  # BYE: baresip closes the call and finishes its WAV dumps
            await wait_for(lambda: agent.finished, 15, "the call did not end")
            await asyncio.sleep(1.0)
        log = (tmp_path / "baresip" / "baresip.log").read_text(errors="replace")
        assert "Call established" in log, log[-2000:]
        received, rate = phone.received_audio()
        sent, sent_rate = phone.sent_audio()
    (summary,) = agent.finished
    (record,) = summary.records
    assert summary.codec == "PCMU" and summary.ended_by == "local"
    assert any(w in record.transcript.lower() for w in key_words["hours"]), record.transcript
    assert record.outcome == "answered" and record.reply
    # The question is in what baresip sent, and the answer in what it received.
    assert voiced_seconds(sent, sent_rate) > 1.0
    assert voiced_seconds(received, rate) > 1.0, "no agent speech in baresip's received audio"
    assert summary.media.ignored_source == 0
    assert summary.jitter_ms >= 0 and summary.media.rtcp_out >= 1
