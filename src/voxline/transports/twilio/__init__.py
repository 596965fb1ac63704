"""Phone calls through Twilio Media Streams.

    signature.py  X-Twilio-Signature (twilio's validator) and the public URL behind a proxy
    twiml.py      <Connect><Stream> with <Parameter>s; <Reject> when busy
    webhook.py    POST /twilio/voice
    service.py    the routes, the calls in progress, the summaries of ended calls
    stream.py     one stream: one WebSocket, one Call
    audio.py      mu-law in -> PCM16 8 kHz; PCM16 16 kHz -> mu-law out
    sender.py     paced 20 ms agent audio, marks, clear
    marks.py      what Twilio has played, from its mark echoes

The messages themselves are parsed and built in voxline.protocols.twilio_media.
"""

from voxline.transports.twilio.service import TwilioService

__all__ = ["TwilioService"]
