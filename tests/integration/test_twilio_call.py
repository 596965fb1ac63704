"""Whole phone calls through Twilio Media Streams, on the embedded models, at real-time pace.

The real app (create_app) runs under uvicorn on a loopback port in this process, so the test can
read the server's call summaries next to what the caller heard; its model loading is handed the
session's already-loaded models instead of loading a second copy. The caller is the
Twilio-protocol client (voxline.testing.twilio_client): signed webhook, signed stream
handshake, 20 ms mu-law media, Twilio-like playout with mark echoes and clear, dtmf, stop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
from sqlalchemy import select

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.config import TwilioSettings
from voxline.server.app import create_app
from voxline.session.call import Call
from voxline.telemetry.records.schema import calls
from voxline.testing.asgi_server import serving
from voxline.testing.log_context import bound_context
from voxline.testing.twilio_client import TwilioCaller
from voxline.transports.twilio.signature import SIGNATURE_HEADER, TwilioSignature

pytestmark = pytest.mark.models

TOKEN = "test-twilio-auth-token"
STREAM_LOGGER = "voxline.transports.twilio.stream"
FORM = {"AccountSid": "AC" + "1" * 32, "CallSid": "CA" + "2" * 32, "From": "+15550100",
        "To": "+15550199", "Direction": "inbound"}
LONG_ANSWERS = (
    CLINIC_SYSTEM_PROMPT
    + " Whatever the caller asks, first list every service and every open slot in full."
)


@pytest.fixture
async def server(settings, providers, monkeypatch, tmp_path):
    """The app on a loopback port, ready, with the session's models; yields (base URL, app)."""
    monkeypatch.setattr("voxline.server.app.Providers.load", lambda _settings: providers)
    app_settings = settings.model_copy(
        update={"twilio": TwilioSettings(auth_token=TOKEN), "clinic_db": tmp_path / "clinic.db",
                "records_dir": tmp_path / "records"}
    )
    app = create_app(app_settings)
    async with serving(app) as base:
        async with asyncio.timeout(120):
            await app.state.voxline.ready.wait()
        yield base, app


async def dial(base: str) -> TwilioCaller:
    """What Twilio does for an incoming call: the signed webhook, then the stream it names."""
    url = f"{base}/twilio/voice"
    headers = {SIGNATURE_HEADER: TwilioSignature(TOKEN).sign(url, FORM)}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(url, data=FORM, headers=headers)
    assert response.status_code == 200, response.text
    stream = ET.fromstring(response.text).find("./Connect/Stream")
    assert stream is not None, response.text
    parameters = {p.get("name"): p.get("value") for p in stream.iter("Parameter")}
    caller = TwilioCaller(
        stream.get("url"),
        auth_token=TOKEN,
        custom_parameters=parameters,
        call_sid=FORM["CallSid"],
        account_sid=FORM["AccountSid"],
    )
    await caller.connect()
    return caller


async def summary_of(app, caller: TwilioCaller, timeout_s: float = 20):
    """The server's summary of the caller's stream, once the call has ended there."""
    async with asyncio.timeout(timeout_s):
        while True:
            for summary in app.state.twilio.finished:
                if summary.stream_sid == caller.stream_sid:
                    return summary
            await asyncio.sleep(0.05)


async def turn_done(app, caller: TwilioCaller, turns: int, timeout_s: float = 120) -> None:
    """Wait until the server's call has recorded `turns` turns and is quiet, and the caller
    has played all it was sent. (Waiting on the server: on a loaded machine the agent may
    pause for seconds between clauses, which no silence timeout on the caller's side can
    tell from the end of the answer.)"""
    async with asyncio.timeout(timeout_s):
        while True:
            calls = [s.call for s in app.state.twilio.active.values()
                     if s.stream_sid == caller.stream_sid and s.call is not None]
            if calls and len(calls[0].records) >= turns and not calls[0].busy:
                break
            await asyncio.sleep(0.05)
    assert await caller.wait_until_quiet(quiet_s=0.3, timeout=10)


async def until(condition, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


def has_words(text: str, words) -> bool:
    return all(w in text.lower() for w in words)


async def recorded_end_reason(app, call_id: str, timeout_s: float = 10) -> str | None:
    """The calls row's end_reason, once the recorder's thread has written it."""
    reader = app.state.telemetry.recorder.reader()
    async with asyncio.timeout(timeout_s):
        while True:
            with reader.connect() as db:
                row = db.execute(select(calls.c.end_reason).where(calls.c.call_id == call_id)
                                 ).one_or_none()
            if row is not None and row.end_reason is not None:
                return row.end_reason
            await asyncio.sleep(0.05)


async def test_a_call_is_answered_marks_are_echoed_and_dtmf_reaches_the_call(
    server, caller_wavs, key_words, caplog
):
    base, app = server
    caplog.set_level(logging.INFO, logger=STREAM_LOGGER)
    with bound_context() as bound:
        caller = await dial(base)
        try:
            reply = await caller.ask(caller_wavs["hours"], timeout=60)
            await caller.dtmf("1")
            await caller.dtmf("#")
            await turn_done(app, caller, turns=1)
            await caller.stop()
        finally:
            await caller.close()
        summary = await summary_of(app, caller)

    # Every line that names this call, the stream's own included, carries its call_id, and
    # the stream's end reason reached its record.
    assert any(r.name == STREAM_LOGGER for r, _ in bound.naming(summary.call_id))
    assert bound.unbound(summary.call_id) == []
    assert await recorded_end_reason(app, summary.call_id) == "stop"

    # The question was transcribed and answered; the caller heard the answer.
    answered = [r for r in summary.records if r.outcome == "answered"]
    assert answered, [r.to_dict() for r in summary.records]
    assert has_words(answered[0].transcript, key_words["hours"]), answered[0].transcript
    assert answered[0].reply and answered[0].transport == "twilio"
    assert reply.first_agent_audio_at is not None, "no agent audio reached the caller"
    assert reply.voice_to_voice_ms is not None and reply.voice_to_voice_ms > 0
    assert len(caller.agent_voiced_at) * 0.02 > 1.0  # over a second of voiced agent audio
    assert answered[0].latency["turn_latency_ms"] is not None

    # Marks: the app sent them with its audio, the caller echoed each as playout reached it,
    # and the server counted exactly those echoes as heard audio.
    assert caller.marks_received and not caller.marks_flushed
    assert caller.marks_echoed == caller.marks_received  # all played, in order
    assert summary.marks_sent == len(caller.marks_received)
    assert summary.marks_acknowledged == len(caller.marks_echoed)
    assert 0 < summary.agent_audio_heard_ms == summary.agent_audio_sent_ms
    assert summary.agent_audio_sent_ms >= len(caller.agent_voiced_at) * 20

    # DTMF reached the call; the webhook's parameters reached the stream; stop ended it.
    assert summary.dtmf_digits == ["1", "#"]
    assert summary.custom_parameters == {k: FORM[k] for k in ("CallSid", "From", "To")}
    assert summary.call_sid == FORM["CallSid"]
    assert summary.ended_by == "stop" and not summary.ignored and not caller.clears

    # One "call ended" line with the call id, and no personal data in it.
    lines = [r.getMessage() for r in caplog.records
             if r.name == STREAM_LOGGER and "call ended" in r.getMessage()]
    assert len(lines) == 1 and f"call_id={summary.call_id}" in lines[0]
    assert "ended_by=stop" in lines[0]
    assert FORM["From"] not in lines[0] and answered[0].transcript not in lines[0]


async def test_talking_over_the_answer_sends_clear_and_the_agent_stops(
    server, providers, caller_wavs, key_words, monkeypatch
):
    base, app = server
    # An agent that talks at length, so there is an answer to talk over (as test_barge_in).
    await providers.warm(LONG_ANSWERS)
    monkeypatch.setattr(
        "voxline.transports.twilio.stream.Call", functools.partial(Call, system_prompt=LONG_ANSWERS)
    )
    caller = await dial(base)
    try:
        reply = await caller.ask(caller_wavs["hours"], timeout=60)
        assert reply.first_agent_audio_at is not None
        # Once 1.5 s of the answer has arrived, speak over it while the agent is talking.
        await until(
            lambda: caller.media_frames_received * 0.02 >= 1.5
            and time.monotonic() - caller.agent_voiced_at[-1] < 0.05,
            timeout_s=90,
        )
        talking_over_at = time.monotonic()
        await caller.say(caller_wavs["wednesday"])
        await turn_done(app, caller, turns=2)
        await caller.stop()
    finally:
        await caller.close()
    summary = await summary_of(app, caller)

    # The app sent clear while the caller talked over the answer...
    assert caller.clears, "no clear after the caller talked over the agent"
    clear_at = caller.clears[0]
    assert talking_over_at < clear_at < talking_over_at + 3.0
    assert caller.voiced_between(talking_over_at - 1.5, clear_at) >= 10
    # ...and no agent audio arrived after it while the caller was still talking.
    assert caller.voiced_between(clear_at, clear_at + 0.5) == 0
    assert summary.clears_sent == len(caller.clears)

    # Marks the clear dropped came back flushed, and were not counted as heard.
    assert summary.marks_flushed == len(caller.marks_flushed)
    assert summary.marks_acknowledged == len(caller.marks_echoed)
    assert set(caller.marks_echoed).isdisjoint(caller.marks_flushed)
    assert summary.agent_audio_heard_ms < summary.agent_audio_sent_ms

    # The engine cut the turn, and answered the interruption.
    outcomes = [r.outcome for r in summary.records]
    assert "interrupted" in outcomes, [r.to_dict() for r in summary.records]
    interrupted = summary.records[outcomes.index("interrupted")]
    assert interrupted.interrupted and interrupted.latency["barge_in_stop_ms"] is not None
    later = [r for r in summary.records[outcomes.index("interrupted") + 1 :]
             if r.outcome == "answered"]
    assert later and has_words(later[0].transcript, key_words["wednesday"][:1])


async def test_bad_input_is_ignored_and_a_dropped_stream_still_ends_the_call(
    server, caller_wavs, key_words, caplog
):
    base, app = server
    caplog.set_level(logging.INFO, logger=STREAM_LOGGER)
    caller = await dial(base)
    try:
        sid = caller.stream_sid
        await caller.send_raw(b"\x00\x01binary")
        await caller.send_raw("{this is not json")
        await caller.send_raw(json.dumps({"event": "transcription", "streamSid": sid}))
        await caller.send_raw(
            json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": "never-sent"}})
        )
        await caller.send_raw(
            json.dumps({"event": "dtmf", "streamSid": sid, "dtmf": {"digit": "x"}})
        )
        # The call goes on: the question is still heard and answered.
        reply = await caller.ask(caller_wavs["hours"], timeout=60)
        assert reply.first_agent_audio_at is not None
        await turn_done(app, caller, turns=1)
    finally:
        await caller.close()  # no stop: the connection just drops
    summary = await summary_of(app, caller)

    assert summary.ended_by == "closed"
    assert summary.ignored == {
        "binary": 1, "malformed": 1, "unknown_event": 1, "unknown_mark": 1, "dtmf": 1
    }
    answered = [r for r in summary.records if r.outcome == "answered"]
    assert answered and has_words(answered[0].transcript, key_words["hours"])
    lines = [r.getMessage() for r in caplog.records
             if r.name == STREAM_LOGGER and "call ended" in r.getMessage()]
    assert len(lines) == 1 and f"call_id={summary.call_id}" in lines[0]
    assert "ended_by=closed" in lines[0]
    assert not app.state.twilio.active  # the call is gone from the worker
