"""Deepgram live streaming (``/v1/listen``, Nova models): the wire format, with no I/O.

Client to server: binary frames of raw audio, and text frames ``{"type": "KeepAlive"}``,
``{"type": "Finalize"}``, ``{"type": "CloseStream"}``. Server to client: JSON text frames of type
``Results``, ``SpeechStarted``, ``UtteranceEnd`` and ``Metadata``. The client (providers/deepgram)
and the local fake server (testing/deepgram_server) both build and parse through this package,
so they share one definition of the format.

Rules both sides rely on:

1. Every time (``start``, ``duration``, word times, ``SpeechStarted.timestamp``,
   ``UtteranceEnd.last_word_end``, ``Metadata.duration``) is seconds of audio received on
   *this connection*: the clock restarts at 0 on a new connection.
2. Final results (``is_final``) do not overlap and come in order; each covers
   ``[start, start + duration)``. Interim results for that span may come before it.
3. ``speech_final`` is only set on a final result: the endpointing silence was seen.
4. ``from_finalize`` is set on the final result that answers a ``Finalize`` message.
5. ``UtteranceEnd`` needs ``interim_results=true``; it comes once ``utterance_end_ms`` of silence
   follows the last finalized word.
6. ``CloseStream``: the server finalizes what it holds, sends ``Metadata``, then closes.

Modules, one idea each:

* ``listen_query``    the ``/v1/listen`` URL and its query options, built and read back
* ``control``         the client's control messages (KeepAlive, Finalize, CloseStream)
* ``events``          server messages read into typed events
* ``server_messages`` server messages written, for the fake server
"""

from voxline.protocols.deepgram.control import (
    CONTROL_TYPES,
    close_stream,
    finalize,
    keepalive,
    parse_control,
)
from voxline.protocols.deepgram.events import (
    Event,
    Metadata,
    Results,
    SpeechStarted,
    Unknown,
    UtteranceEnd,
    Word,
    parse,
)
from voxline.protocols.deepgram.listen_query import (
    ENCODINGS,
    ListenParams,
    listen_url,
    parse_listen_query,
)
from voxline.protocols.deepgram.server_messages import (
    make_words,
    metadata_message,
    results_message,
    speech_started_message,
    utterance_end_message,
)

__all__ = [
    "CONTROL_TYPES",
    "ENCODINGS",
    "Event",
    "ListenParams",
    "Metadata",
    "Results",
    "SpeechStarted",
    "Unknown",
    "UtteranceEnd",
    "Word",
    "close_stream",
    "finalize",
    "keepalive",
    "listen_url",
    "make_words",
    "metadata_message",
    "parse",
    "parse_control",
    "parse_listen_query",
    "results_message",
    "speech_started_message",
    "utterance_end_message",
]
