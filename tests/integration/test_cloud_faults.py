"""Faults in the middle of a cloud call: the caller hears an apology, the call goes on, and the
errors are counted by class.

Whole calls through `talk()`, with the real Deepgram, OpenAI and ElevenLabs clients against the
local protocol servers. Most calls use the "afternoon" line, said in one breath: no pause in it
starts a speculative turn that the caller then talks over, so the fault injected into the first
request, connection or final is sure to land on the turn that is answered.
"""

from __future__ import annotations

import numpy as np
import pytest

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.providers import deepgram as deepgram_module
from voxline.providers.registry import Providers
from voxline.session.call import APOLOGY, Call, CallEvent
from voxline.talk import talk
from voxline.testing.cloud_sim import cloud_sim
from voxline.testing.profile import Fault, FaultPlan

pytestmark = pytest.mark.models

AFTERNOON = "Do you have anything in the afternoon?"
DEEPGRAM, WHISPER = "deepgram/nova-3", "local/whisper-tiny.en"
SORRY = APOLOGY.split(",")[0]


def keep_streams(stt) -> list:
    """Every STT stream the call opens, to read its own counters afterwards."""
    streams = []
    open_stream = stt.open_stream

    async def opening(rate: int):
        stream = await open_stream(rate)
        streams.append(stream)
        return stream

    stt.open_stream = opening
    return streams


def spoken_by(call: Call) -> list[str]:
    """The clauses the agent speaks, in order, as the call goes."""
    spoken: list[str] = []

    def watch(event: CallEvent) -> None:
        if event.kind == "agent_clause":
            spoken.append(event.data["text"])

    call.observe(watch)
    return spoken


def loud(pcm: bytes) -> bool:
    """Speech, not silence, is in this agent audio."""
    return int(np.abs(np.frombuffer(pcm, dtype=np.int16)).max(initial=0)) > 3000


def outcomes(result) -> list[str]:
    return [r.outcome for r in result.records]


# -- LLM and TTS refused or failing (apology, fallback) -----------------------------------------


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

    assert outcomes(result) == ["error", "answered"], [r.to_dict() for r in result.records]
    assert "ProviderServerError" in result.records[0].error
    assert SORRY in spoken[0]
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

    assert outcomes(result) == ["answered"]
    assert providers.tts.switches == {"elevenlabs/eleven_flash_v2_5>local/piper-joe-medium": 1}
    assert loud(result.agent_audio)  # the local voice spoke


# -- Deepgram: a dropped socket, and a fallback chain --------------------------------------------


async def test_deepgram_drop_mid_call_reconnects_once_and_replays_the_utterance(
    settings, caller_wavs
):
    heard: list[float] = []  # seconds of audio in each piece the server transcribed

    def transcribe(pcm: bytes, rate: int) -> str:
        seconds = len(pcm) / 2 / rate
        heard.append(seconds)
        # The line is ~1.9 s of speech and the first connection is cut ~0.6 s into it: only
        # a connection that was given the start again hears all of it.
        return AFTERNOON if seconds >= 1.5 else "(part of it)"

    async with cloud_sim(settings, transcripts=transcribe) as sim:
        sim.deepgram.faults = FaultPlan(Fault.DROP_MID_STREAM)  # after 1 s of the call's audio
        providers = Providers.load(sim.settings)
        call = Call(providers, sim.settings, transport="file")
        ended: list[dict] = []
        call.observe(lambda event: ended.append(event.data) if event.kind == "call_ended" else None)
        result = await talk(providers, sim.settings, [caller_wavs["afternoon"]], call=call)
        connections = sim.deepgram.connections

    assert outcomes(result) == ["answered"], [r.to_dict() for r in result.records]
    assert result.records[0].transcript == AFTERNOON
    assert result.records[0].reply and loud(result.agent_audio)
    assert [e["stt_reconnections"] for e in ended] == [1] and connections == 2
    assert max(heard) >= 1.5


class _DropThenDown(FaultPlan):
    """The first connection is cut mid-utterance; every reconnect is refused with HTTP 500."""

    def active(self, request_index: int) -> Fault:
        return Fault.DROP_MID_STREAM if request_index == 0 else Fault.SERVER_ERROR


@pytest.mark.parametrize(
    "faults",
    [
        FaultPlan(Fault.AUTH, on_requests=frozenset(range(1000))),
        _DropThenDown(),
        # No final within the Finalize timeout: the switch comes after the endpoint.
        FaultPlan(Fault.SLOW_FIRST, slow_first_s=5.0),
    ],
    ids=["refused-at-connect", "down-mid-call", "stalled-mid-call"],
)
async def test_stt_chain_answers_with_local_whisper_and_counts_the_switch(
    settings, caller_wavs, faults
):
    async with cloud_sim(settings, transcripts=["Deepgram's script."] * 4) as sim:
        sim.deepgram.faults = faults
        chain = sim.settings.model_copy(update={"stt": [DEEPGRAM, WHISPER]})
        providers = Providers.load(chain)
        result = await talk(providers, chain, [caller_wavs["afternoon"]] * 2)
        connections = sim.deepgram.connections

    assert outcomes(result) == ["answered", "answered"], [r.to_dict() for r in result.records]
    for record in result.records:  # whisper heard the whole utterance, from its first words
        words = record.transcript.lower()
        assert "do you have" in words and "afternoon" in words and "script" not in words
    assert providers.stt.switches == {f"{DEEPGRAM}>{WHISPER}": 1}
    if faults.fault is Fault.AUTH:
        assert connections == 1  # a refused key is not retried


# -- a malformed frame from each server ---------------------------------------------------------


async def test_deepgram_malformed_message_is_counted_and_the_turn_answered(
    settings, caller_wavs
):
    async with cloud_sim(settings, transcripts=[AFTERNOON] * 4) as sim:
        sim.deepgram.faults = FaultPlan(Fault.MALFORMED)  # "this is not JSON {" at first audio
        providers = Providers.load(sim.settings)
        streams = keep_streams(providers.stt)
        result = await talk(providers, sim.settings, [caller_wavs["afternoon"]])

    assert outcomes(result) == ["answered"], [r.to_dict() for r in result.records]
    assert result.records[0].transcript == AFTERNOON
    assert [(s.protocol_errors, s.reconnections) for s in streams] == [(1, 0)]


async def test_openai_malformed_chunk_gets_an_apology_and_the_next_turn_is_answered(
    settings, caller_wavs
):
    async with cloud_sim(settings, transcripts=[AFTERNOON] * 8) as sim:
        sim.openai.faults = FaultPlan(Fault.MALFORMED)  # broken JSON in the first content chunk
        providers = Providers.load(sim.settings)
        call = Call(providers, sim.settings, transport="file")
        spoken = spoken_by(call)
        result = await talk(
            providers, sim.settings, [caller_wavs["afternoon"]] * 2, call=call
        )
        requests = len(sim.openai.requests)

    assert outcomes(result) == ["error", "answered"], [r.to_dict() for r in result.records]
    assert "ProtocolViolation" in result.records[0].error
    assert SORRY in spoken[0]
    assert result.records[1].transcript == AFTERNOON and result.records[1].reply
    # A frame that breaks the protocol is not retried: one request per turn.
    assert providers.llm.error_counts == {"protocol": 1} and requests == 2


async def tts_fault_call(settings, caller_wavs, plan: FaultPlan):
    """Two "afternoon" turns with the ElevenLabs server broken by `plan` (from its first,
    pooled socket on): the result, the clauses spoken and the server's sessions."""
    async with cloud_sim(settings, transcripts=[AFTERNOON] * 8) as sim:
        sim.elevenlabs.faults = plan
        providers = Providers.load(sim.settings)
        await providers.warm(CLINIC_SYSTEM_PROMPT)  # the pooled socket is connection 0
        call = Call(providers, sim.settings, transport="file")
        spoken = spoken_by(call)
        result = await talk(
            providers, sim.settings, [caller_wavs["afternoon"]] * 2, call=call
        )
        return result, spoken, sim.elevenlabs.sessions


async def test_elevenlabs_malformed_message_gets_an_apology_on_a_new_socket(
    settings, caller_wavs
):
    plan = FaultPlan(Fault.MALFORMED)  # "{not json" instead of audio
    result, spoken, sessions = await tts_fault_call(settings, caller_wavs, plan)

    assert outcomes(result) == ["error", "answered"], [r.to_dict() for r in result.records]
    assert "ProtocolViolation" in result.records[0].error
    assert sum(SORRY in clause for clause in spoken) == 1
    # The broken socket gave no audio; the apology and the next answer came on sockets of their
    # own.
    assert sessions[0].audio_chunks == 0 and sum(s.audio_chunks > 0 for s in sessions) == 2
    assert loud(result.agent_audio)


# -- a slow first answer from each server -------------------------------------------------------


async def test_llm_slow_first_token_is_retried_and_the_turn_answered(settings, caller_wavs):
    async with cloud_sim(settings, transcripts=[AFTERNOON] * 4) as sim:
        # Far past the first-token timeout (2 s): the retry, not the slow answer, is heard.
        sim.openai.faults = FaultPlan(Fault.SLOW_FIRST, slow_first_s=30.0)
        providers = Providers.load(sim.settings)
        result = await talk(providers, sim.settings, [caller_wavs["afternoon"]])
        requests = len(sim.openai.requests)

    assert outcomes(result) == ["answered"], [r.to_dict() for r in result.records]
    assert result.records[0].reply and loud(result.agent_audio)
    assert providers.llm.error_counts == {"timeout": 1} and requests == 2


async def test_llm_slow_on_every_retry_gets_an_apology_and_the_next_turn_is_answered(
    settings, caller_wavs
):
    async with cloud_sim(settings, transcripts=[AFTERNOON] * 8) as sim:
        # The first turn's request and both its retries are slow; the next turn's is not.
        sim.openai.faults = FaultPlan(
            Fault.SLOW_FIRST, on_requests=frozenset({0, 1, 2}), slow_first_s=30.0
        )
        providers = Providers.load(sim.settings)
        call = Call(providers, sim.settings, transport="file")
        spoken = spoken_by(call)
        result = await talk(
            providers, sim.settings, [caller_wavs["afternoon"]] * 2, call=call
        )

    assert outcomes(result) == ["error", "answered"], [r.to_dict() for r in result.records]
    assert "ProviderTimeout" in result.records[0].error
    assert SORRY in spoken[0]
    assert result.records[1].reply
    assert providers.llm.error_counts == {"timeout": 3}


async def test_tts_slow_first_chunk_past_the_timeout_gets_an_apology_on_a_new_socket(
    settings, caller_wavs
):
    # Past the cloud-sim client's no-audio timeout (5 s).
    plan = FaultPlan(Fault.SLOW_FIRST, slow_first_s=8.0)
    result, spoken, sessions = await tts_fault_call(settings, caller_wavs, plan)

    assert outcomes(result) == ["error", "answered"], [r.to_dict() for r in result.records]
    assert "ProviderTimeout" in result.records[0].error
    assert sum(SORRY in clause for clause in spoken) == 1
    assert sessions[0].audio_chunks == 0  # the stalled socket was given up, not waited for
    assert loud(result.agent_audio)


async def test_stt_final_slower_than_the_endpoint_window_still_answers_the_turn(
    settings, caller_wavs, monkeypatch
):
    # The final comes ~2 s after Finalize: after the local endpoint (0.9 s) has ended the
    # utterance, before the (raised) Finalize timeout. Its words are the turn's.
    monkeypatch.setattr(deepgram_module, "FINALIZE_TIMEOUT_S", 10.0)
    async with cloud_sim(settings, transcripts=[AFTERNOON] * 4) as sim:
        sim.deepgram.faults = FaultPlan(Fault.SLOW_FIRST, slow_first_s=2.0)
        providers = Providers.load(sim.settings)
        result = await talk(providers, sim.settings, [caller_wavs["afternoon"]])

    assert outcomes(result) == ["answered"], [r.to_dict() for r in result.records]
    assert result.records[0].transcript == AFTERNOON and result.records[0].reply


async def test_stt_final_past_the_finalize_timeout_gets_an_apology_and_the_call_goes_on(
    settings, caller_wavs
):
    async with cloud_sim(settings, transcripts=[AFTERNOON] * 8) as sim:
        # Twice the Finalize timeout (2 s); it arrives before the caller's next utterance.
        sim.deepgram.faults = FaultPlan(Fault.SLOW_FIRST, slow_first_s=4.0)
        providers = Providers.load(sim.settings)
        call = Call(providers, sim.settings, transport="file")
        spoken = spoken_by(call)
        result = await talk(
            providers, sim.settings, [caller_wavs["afternoon"]] * 2, call=call
        )

    assert outcomes(result) == ["error", "answered"], [r.to_dict() for r in result.records]
    assert "ProviderTimeout" in result.records[0].error
    assert SORRY in spoken[0]
    assert result.records[1].transcript == AFTERNOON and result.records[1].reply
