"""The Twilio voice webhook and the stream handshake on a real server (loopback), no models.

The app is the real one (create_app); only the model loading is replaced by a stand-in, since
nothing here reaches the turn engine: these are the signature, TwiML and refusal paths.
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from voxline.config import Settings
from voxline.protocols import twilio_media as tm
from voxline.server.app import create_app
from voxline.testing.asgi_server import serving
from voxline.transports.twilio.signature import SIGNATURE_HEADER, TwilioSignature

TOKEN = "test-twilio-auth-token"
FORM = {
    "AccountSid": "AC" + "1" * 32,
    "CallSid": "CA" + "2" * 32,
    "From": "+15550100",
    "To": "+15550199",
    "CallStatus": "ringing",
    "Direction": "inbound",
}


class StandInModels:
    """What the app's loader returns here: warm at once, or never (`ready=False`)."""

    def __init__(self, ready: bool = True) -> None:
        self._ready = ready

    async def warm(self, system_prompt: str) -> None:
        if not self._ready:
            await asyncio.Event().wait()

    async def aclose(self) -> None:
        pass


@pytest.fixture
def app_for(monkeypatch, tmp_path):
    def make(ready: bool = True, **twilio):
        models = StandInModels(ready)
        monkeypatch.setattr("voxline.server.app.Providers.load", lambda settings: models)
        settings = Settings(twilio=twilio, clinic_db=tmp_path / "clinic.sqlite")
        return create_app(settings)

    return make


async def until_ready(app) -> None:
    async with asyncio.timeout(10):
        await app.state.voxline.ready.wait()


async def post_voice(base: str, form: dict, signature: str | None) -> httpx.Response:
    headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.post(f"{base}/twilio/voice", data=form, headers=headers)


def stream_of(twiml: str) -> tuple[str, dict[str, str]]:
    root = ET.fromstring(twiml)
    stream = root.find("./Connect/Stream")
    assert stream is not None, twiml
    return stream.get("url"), {p.get("name"): p.get("value") for p in stream.iter("Parameter")}


async def test_a_signed_webhook_is_answered_with_connect_stream_and_parameters(app_for):
    app = app_for(auth_token=TOKEN)
    async with serving(app) as base:
        await until_ready(app)
        url = f"{base}/twilio/voice"
        response = await post_voice(base, FORM, TwilioSignature(TOKEN).sign(url, FORM))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    stream_url, parameters = stream_of(response.text)
    assert stream_url == base.replace("http://", "ws://") + "/twilio/stream"
    # The configured webhook parameters, and only those, travel on to the stream.
    assert parameters == {k: FORM[k] for k in ("CallSid", "From", "To")}


async def test_a_webhook_without_a_valid_signature_gets_403(app_for):
    app = app_for(auth_token=TOKEN)
    async with serving(app) as base:
        await until_ready(app)
        url = f"{base}/twilio/voice"
        right = TwilioSignature(TOKEN)
        attempts = {
            "no header": None,
            "empty": "",
            "another token": TwilioSignature("another-token").sign(url, FORM),
            "tampered From": right.sign(url, {**FORM, "From": "+15550111"}),
            "another URL": right.sign(url.replace("/voice", "/other"), FORM),
            "garbage": "not-a-signature",
        }
        statuses = {
            name: (await post_voice(base, FORM, signature)).status_code
            for name, signature in attempts.items()
        }
        good = await post_voice(base, FORM, right.sign(url, FORM))
    assert statuses == {name: 403 for name in attempts}
    assert good.status_code == 200  # the same server takes a correctly signed request


async def test_behind_a_proxy_the_public_url_is_what_is_signed(app_for):
    public = "https://voice.clinic.example"
    app = app_for(auth_token=TOKEN, public_base_url=public)
    async with serving(app) as base:
        await until_ready(app)
        signer = TwilioSignature(TOKEN)
        seen_by_server = await post_voice(base, FORM, signer.sign(f"{base}/twilio/voice", FORM))
        public_signed = await post_voice(base, FORM, signer.sign(f"{public}/twilio/voice", FORM))
    assert seen_by_server.status_code == 403
    assert public_signed.status_code == 200
    stream_url, _ = stream_of(public_signed.text)
    assert stream_url == "wss://voice.clinic.example/twilio/stream"


async def test_without_an_auth_token_nothing_is_accepted(app_for):
    app = app_for()  # Twilio not configured
    async with serving(app) as base:
        await until_ready(app)
        url = f"{base}/twilio/voice"
        response = await post_voice(base, FORM, TwilioSignature(TOKEN).sign(url, FORM))
        with pytest.raises(InvalidStatus) as refused:
            await connect(base.replace("http", "ws") + "/twilio/stream", proxy=None)
    assert response.status_code == 403
    assert refused.value.response.status_code == 403


async def test_a_call_before_the_models_are_ready_is_rejected_busy(app_for):
    app = app_for(ready=False, auth_token=TOKEN)
    async with serving(app) as base:
        url = f"{base}/twilio/voice"
        response = await post_voice(base, FORM, TwilioSignature(TOKEN).sign(url, FORM))
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    assert [(e.tag, e.get("reason")) for e in root] == [("Reject", "busy")]


async def test_the_stream_handshake_needs_a_valid_signature(app_for):
    app = app_for(auth_token=TOKEN)
    async with serving(app) as base:
        await until_ready(app)
        stream = base.replace("http", "ws") + "/twilio/stream"
        statuses = []
        for signature in (None, "bad", TwilioSignature("another-token").sign(stream)):
            headers = {SIGNATURE_HEADER: signature} if signature else {}
            with pytest.raises(InvalidStatus) as refused:
                await connect(stream, additional_headers=headers, proxy=None)
            statuses.append(refused.value.response.status_code)
        assert statuses == [403, 403, 403]

        # Signed, it is accepted; a start whose audio is not mu-law 8 kHz mono is then closed
        # with 1003 (unsupported data) before any call starts.
        headers = {SIGNATURE_HEADER: TwilioSignature(TOKEN).sign(stream)}
        async with connect(stream, additional_headers=headers, proxy=None) as ws:
            start = json.loads(tm.twilio_start(1, "MZ1", "CA1", "AC1"))
            start["start"]["mediaFormat"]["encoding"] = "audio/x-alaw"
            await ws.send(tm.twilio_connected())
            await ws.send(json.dumps(start))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
        assert not app.state.twilio.finished  # no call was started
