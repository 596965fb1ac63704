"""Faults in the middle of a cloud call: the caller hears an apology, the call goes on, and the
errors are counted by class."""

from __future__ import annotations

import pytest

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.providers.registry import Providers
from voxline.session.call import APOLOGY, Call
from voxline.talk import talk
from voxline.testing.cloud_sim import cloud_sim
from voxline.testing.profile import Fault, FaultPlan

pytestmark = pytest.mark.models


async def test_llm_server_errors_get_an_apology_and_the_next_turn_is_answered(
    settings, caller_wavs
):
    async with cloud_sim(settings, transcripts=["What are your opening hours?"] * 8) as sim:
        # Every request fails with HTTP 500 until the first turn has been recorded.
        sim.openai.faults = FaultPlan(Fault.SERVER_ERROR, on_requests=frozenset(range(1000)))
        providers = Providers.load(sim.settings)
        call = Call(providers, sim.settings, transport="file")
        spoken: list[str] = []

        def watch(event):
            if event.kind == "agent_clause":
                spoken.append(event.data["text"])
            if event.kind == "turn":
                sim.openai.faults = FaultPlan()  # the provider recovers

        call.observe(watch)
        result = await talk(
            providers, sim.settings, [caller_wavs["hours"], caller_wavs["hours"]], call=call
        )
        errors = dict(providers.llm.error_counts)

    outcomes = [r.outcome for r in result.records]
    assert outcomes == ["error", "answered"], [r.to_dict() for r in result.records]
    assert "ProviderServerError" in result.records[0].error
    assert APOLOGY.split(",")[0] in spoken[0]
    assert result.records[1].reply
    # The failed turn's request and its two retries, at least (a speculative request that was
    # dropped when the caller went on may add its own).
    assert set(errors) == {"5xx"} and errors["5xx"] >= 3


async def test_tts_refused_falls_back_to_the_local_voice_and_counts_the_switch(
    settings, caller_wavs
):
    async with cloud_sim(settings, transcripts=["What are your opening hours?"] * 4) as sim:
        sim.elevenlabs.faults = FaultPlan(Fault.AUTH, on_requests=frozenset(range(1000)))
        chain_settings = sim.settings.model_copy(
            update={"tts": ["elevenlabs/eleven_flash_v2_5", "local/piper-joe-medium"]}
        )
        providers = Providers.load(chain_settings)
        await providers.warm(CLINIC_SYSTEM_PROMPT)  # ElevenLabs refuses: the chain moves on
        call = Call(providers, chain_settings, transport="file")
        result = await talk(providers, chain_settings, [caller_wavs["hours"]], call=call)

    assert [r.outcome for r in result.records] == ["answered"]
    assert providers.tts.switches == {"elevenlabs/eleven_flash_v2_5>local/piper-joe-medium": 1}
    samples = [abs(int.from_bytes(result.agent_audio[i : i + 2], "little", signed=True))
               for i in range(0, len(result.agent_audio), 64)]
    assert max(samples) > 3000  # the local voice spoke
