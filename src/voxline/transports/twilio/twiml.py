"""The TwiML the voice webhook answers with, built by the twilio package (it escapes values)."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import Connect, VoiceResponse


def connect_stream(stream_url: str, parameters: Mapping[str, str]) -> str:
    """`<Connect><Stream>`: a bidirectional Media Stream to `stream_url`. Each parameter comes
    back in the stream's start message (start.customParameters)."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return response.to_xml()


def reject_busy() -> str:
    """Refuse the call with a busy signal (models not ready, or the worker is full); Twilio does
    not bill a rejected call and the carrier can try another number."""
    response = VoiceResponse()
    response.reject(reason="busy")
    return response.to_xml()
