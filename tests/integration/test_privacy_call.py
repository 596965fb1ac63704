"""Issue 8's proof: a whole cloud-sim call whose caller says a phone number, a card number and
a date of birth. Afterwards the LLM server's received requests, every log line, every span of
the trace and every row of the call's records are searched for those values, in every form
they could take, and none is there; the booking tool got the real phone number.

Deepgram, OpenAI and ElevenLabs clients run against the local protocol servers; the Deepgram
server says the scripted words for each caller utterance; the OpenAI server's clinic brain
decides to call book_appointment with the phone placeholder it was given.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select

from voxline.agent.clinic import AppointmentBook
from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.agent.tools import Toolbox
from voxline.config import RecordsSettings
from voxline.providers.registry import Providers
from voxline.session.call import Call
from voxline.talk import talk
from voxline.telemetry.hub import Telemetry
from voxline.telemetry.records.schema import calls, events, turns
from voxline.testing.cloud_sim import cloud_sim
from voxline.testing.log_context import json_log_lines

pytestmark = pytest.mark.models

SAID = [
    "Hi, I was born on March 3rd 1980 and my card number is 4242 4242 4242 4242.",
    "This is Maria Lopez, please book me for Tuesday at 2 PM. My number is 555 123 4567.",
]
# Every form the three values could be found in: as said, normalised, and spoken digit by digit.
SECRETS = {
    "phone": ["555 123 4567", "5551234567", "555-123-4567", "(555) 123-4567", "123 4567",
              "five five five one two three four five six seven", "5 5 5, 1 2 3, 4 5 6 7"],
    "card": ["4242 4242 4242 4242", "4242424242424242", "4242-4242-4242-4242",
             "four two four two four two four two", "4 2 4, 2 4 2"],
    "dob": ["March 3rd 1980", "1980-03-03", "03/03/1980", "3/3/1980", "March 3", "1980",
            "nineteen eighty"],
}


def leaks(text: str) -> list[str]:
    low = text.lower()
    return [form for forms in SECRETS.values() for form in forms if form.lower() in low]


@pytest.fixture
def log_lines():
    with json_log_lines("DEBUG") as buffer:
        yield buffer


async def test_pii_reaches_only_the_tool(settings, caller_wavs, tmp_path, log_lines):
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    book = AppointmentBook(tmp_path / "clinic.sqlite")
    async with cloud_sim(settings, transcripts=SAID) as sim:
        local = sim.settings.model_copy(update={
            "records_dir": tmp_path, "records": RecordsSettings(retry_s=0.2)})
        telemetry = Telemetry.from_settings(local, tracer_provider=tracer_provider)
        telemetry.start()
        try:
            providers = Providers.load(local)
            await providers.warm(CLINIC_SYSTEM_PROMPT)
            call = Call(providers, local, transport="file", toolbox=Toolbox(book.tools()),
                        caller="+15551234567")
            result = await talk(providers, local, [caller_wavs["hours"], caller_wavs["name"]],
                                call=call)
            await providers.aclose()
            assert telemetry.recorder.writer.drain(30)
            with telemetry.recorder.reader().connect() as db:
                rows = [dict(r._mapping) for table, key in
                        ((calls, calls.c.call_id), (turns, turns.c.call_id),
                         (events, events.c.call_id))
                        for r in db.execute(select(table).where(key == result.call_id))]
        finally:
            telemetry.close()
        requests = sim.openai.requests
        tts_texts = " ".join(t for session in sim.elevenlabs.sessions for t in session.texts)

    # The call did what the caller asked: the tool ran with the real number.
    answered = [r for r in result.records if r.outcome == "answered"]
    assert len(answered) == 2, [r.to_dict() for r in result.records]
    assert book.bookings() == [("tuesday", "14:00", "Maria Lopez")]
    assert book.phone("tuesday", "14:00") == "5551234567"
    booking = answered[1]
    assert [t["name"] for t in booking.tool_calls] == ["book_appointment"]
    assert json.loads(booking.tool_calls[0]["arguments"])["phone"] == "[PHONE_1]"
    # What the LLM saw: placeholders, stable across the call.
    users = [m["content"] for m in requests[-1]["messages"] if m["role"] == "user"]
    assert users == [
        "Hi, I was born on [DOB_1] and my card number is [CARD_1].",
        "This is [NAME_1], please book me for Tuesday at 2 PM. My number is [PHONE_1].",
    ]
    # What the caller heard: the number in its safe form (the read-back policy holds NAME only).
    assert "We'll call [PHONE_1]" in booking.reply

    # Nowhere else: the LLM's requests, every log line, every span, every row.
    sinks = {
        "llm requests": json.dumps(requests),
        "logs": log_lines.getvalue(),
        "trace": json.dumps([json.loads(s.to_json()) for s in exporter.get_finished_spans()]),
        "records": json.dumps(rows, default=str),
        "turn records": json.dumps([r.to_dict() for r in result.records]),
    }
    assert "call started" in sinks["logs"] and "turn 1 answered" in sinks["logs"]
    assert exporter.get_finished_spans() and rows  # the sinks searched are not empty
    for sink, text in sinks.items():
        assert leaks(text) == [], f"{sink} holds {leaks(text)}"
    assert "Maria Lopez" not in sinks["llm requests"]
    # The TTS vendor was sent the safe form, not the number (nor the card or the date).
    assert "number ending in 6 7" in tts_texts and leaks(tts_texts) == [], tts_texts
