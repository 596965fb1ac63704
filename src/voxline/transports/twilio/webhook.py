"""POST /twilio/voice: Twilio asks what to do with an incoming call; the answer is TwiML that
connects the call's audio to the stream WebSocket.

The request must carry a valid X-Twilio-Signature (403 otherwise): the URL is the public one
Twilio called. The webhook parameters named in settings (CallSid, From, To by default) go on to
the stream as <Parameter>s, so the stream knows whose call it is without a second lookup.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from voxline.config import TwilioSettings
from voxline.transports.twilio.signature import (
    SETTINGS_HEADER,
    SIGNATURE_HEADER,
    TwilioSignature,
    public_url,
    with_scheme,
)
from voxline.transports.twilio.twiml import connect_stream, reject_busy

log = logging.getLogger(__name__)

STREAM_PATH = "/twilio/stream"
VOICE_PATH = "/twilio/voice"
# Twilio's voice webhook bodies are a few hundred bytes; a large one is not from Twilio.
MAX_BODY_BYTES = 64 * 1024


def stream_url(request: Request, settings: TwilioSettings) -> str:
    """The public wss:// URL of the stream route, for the TwiML."""
    base = settings.public_base_url or f"{request.url.scheme}://{request.url.netloc}"
    return with_scheme(base + STREAM_PATH, websocket=True)


async def _form(request: Request) -> ImmutableMultiDict | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    # Parsed here rather than with request.form(): that needs python-multipart for a form
    # that is never multipart.
    return ImmutableMultiDict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def answer_call(
    request: Request,
    settings: TwilioSettings,
    signature: TwilioSignature | None,
    can_take_call: bool,
) -> Response:
    form = await _form(request)
    if form is None:
        return PlainTextResponse("request body too large", status_code=413)
    url = public_url(str(request.url), settings.public_base_url)
    if signature is None:
        log.warning("twilio webhook refused: no auth token; set VOXLINE_TWILIO__AUTH_TOKEN")
        return PlainTextResponse("Twilio is not configured on this server", status_code=403)
    header = request.headers.get(SIGNATURE_HEADER)
    if not signature.valid(url, form, header, request.headers.get(SETTINGS_HEADER)):
        # The URL is logged (it is ours); the parameters are not (caller numbers are PII).
        log.warning("twilio webhook refused: %s X-Twilio-Signature for %s",
                    "bad" if header else "no", url)
        return PlainTextResponse("invalid Twilio signature", status_code=403)
    if not can_take_call:
        log.warning("twilio call %s rejected busy: models not ready or worker full",
                    form.get("CallSid", "?"))
        return Response(reject_busy(), media_type="application/xml")
    parameters = {n: form[n] for n in settings.stream_parameters if n in form}
    twiml = connect_stream(stream_url(request, settings), parameters)
    return Response(twiml, media_type="application/xml")
