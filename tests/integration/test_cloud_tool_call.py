"""The cloud pipeline books an appointment: Deepgram, OpenAI and ElevenLabs clients against the
local protocol servers, the turn engine running the model's streamed tool call."""

from __future__ import annotations

import numpy as np
import pytest

from voxline.agent.clinic import AppointmentBook
from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.agent.tools import Toolbox
from voxline.providers.registry import Providers
from voxline.session.call import Call
from voxline.talk import talk
from voxline.testing.cloud_sim import cloud_sim

pytestmark = pytest.mark.models

SAID = "Hi, this is Maria Lopez. Please book me for Tuesday at 2 PM."


async def test_streamed_tool_call_books_the_row_and_the_reply_confirms_it(
    settings, caller_wavs, tmp_path
):
    book = AppointmentBook(tmp_path / "clinic.sqlite")
    async with cloud_sim(settings, transcripts=[SAID]) as sim:
        providers = Providers.load(sim.settings)
        await providers.warm(CLINIC_SYSTEM_PROMPT)
        call = Call(providers, sim.settings, transport="file", toolbox=Toolbox(book.tools()))
        result = await talk(providers, sim.settings, [caller_wavs["name"]], call=call)
        request_bodies = sim.openai.requests

    answered = [r for r in result.records if r.outcome == "answered"]
    assert len(answered) == 1, [r.to_dict() for r in result.records]
    record = answered[0]
    assert record.transcript == SAID.replace("Maria Lopez", "[NAME_1]")  # the vault's work
    # The model asked for the tool in a streamed call, the engine ran it, the row is there.
    assert [t["name"] for t in record.tool_calls] == ["book_appointment"]
    assert AppointmentBook(tmp_path / "clinic.sqlite").bookings() == [
        ("tuesday", "14:00", "Maria Lopez")
    ]
    # The tool's result went back to the model in the same turn, and the answer confirms it.
    assert any(m["role"] == "tool" for m in request_bodies[-1]["messages"])
    assert "[NAME_1]" in record.reply and "Tuesday" in record.reply
    # ... and it was spoken: the agent track holds speech.
    samples = np.frombuffer(result.agent_audio, dtype=np.int16).astype(np.float32)
    assert np.sqrt((samples**2).mean()) > 100
