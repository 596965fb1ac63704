"""ElevenLabs text-to-speech "stream-input" WebSocket: the wire format, both directions, no I/O.

One socket serves one generation (ElevenLabs' API reference, asyncapi `/v1/text-to-speech/
{voice_id}/stream-input`):

1. Handshake: `GET wss://api.elevenlabs.io/v1/text-to-speech/{voice_id}/stream-input?model_id=..
   &output_format=..&inactivity_timeout=..&sync_alignment=..&auto_mode=..`, key in the
   `xi-api-key` header (or in the first message).
2. First message: `{"text": " ", "voice_settings": {...}, "generation_config":
   {"chunk_length_schedule": [...]}, "xi_api_key": "..."}` (text is a single space).
3. Text: `{"text": "Hello there. ", "try_trigger_generation": true}`; text ends with one space.
   `"flush": true` forces generation of what is buffered. `{"text": " "}` alone only resets the
   inactivity timer (the documented keep-alive).
4. Close: `{"text": ""}` generates what is left, then the server sends `{"isFinal": true}`.
5. Server: `{"audio": "<base64 in output_format>", "isFinal": false, "alignment": {"chars": [..],
   "charStartTimesMs": [..], "charDurationsMs": [..]}, "normalizedAlignment": {...}}`; times are
   relative to that chunk. The asyncapi spells the durations `charsDurationsMs`; the live API (and
   every client we know of) sends `charDurationsMs`. Both are accepted; `charDurationsMs` is built.
6. Errors: `{"message": "...", "error": "invalid_api_key", "code": 1008}`, then a close (1008).

`optimize_streaming_latency` is deprecated in the reference and is not sent; `auto_mode` (which
disables the chunk schedule and buffers, for callers that send whole phrases) is the current
latency option.

Modules, one idea each:

* ``output_formats``  the audio formats that can be asked for: (encoding, sample rate)
* ``stream_url``      the handshake URL and its query options
* ``client_messages`` what the client sends (init, text, flush, keep-alive, close), both ways
* ``server_messages`` what the server sends (audio + alignment, final, error), both ways
"""

from voxline.protocols.elevenlabs.client_messages import (
    KEEPALIVE_TEXT,
    ClientMessage,
    close_message,
    flush_message,
    init_message,
    keepalive_message,
    parse_client,
    text_message,
)
from voxline.protocols.elevenlabs.output_formats import OUTPUT_FORMATS, format_info
from voxline.protocols.elevenlabs.server_messages import (
    Alignment,
    AudioMessage,
    ErrorMessage,
    audio_message,
    error_message,
    final_message,
    parse,
)
from voxline.protocols.elevenlabs.stream_url import MAX_INACTIVITY_TIMEOUT_S, stream_input_url

__all__ = [
    "KEEPALIVE_TEXT",
    "MAX_INACTIVITY_TIMEOUT_S",
    "OUTPUT_FORMATS",
    "Alignment",
    "AudioMessage",
    "ClientMessage",
    "ErrorMessage",
    "audio_message",
    "close_message",
    "error_message",
    "final_message",
    "flush_message",
    "format_info",
    "init_message",
    "keepalive_message",
    "parse",
    "parse_client",
    "stream_input_url",
    "text_message",
]
