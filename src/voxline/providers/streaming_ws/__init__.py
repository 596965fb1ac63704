"""The one streaming-WebSocket client every vendor shares (Deepgram, ElevenLabs, ...).

Connect, keepalive, reconnect with backoff and jitter, a bounded send queue and a receive loop
are written here once; a vendor module only builds and parses its messages::

    socket = StreamingSocket(url, name="deepgram", headers={"Authorization": "Token KEY"},
                             on_message=handle, keepalive=lambda: '{"type": "KeepAlive"}')
    await socket.connect()          # ProviderConnectError / RateLimited / ProviderServerError
    socket.send(frame)              # never blocks; when full, the oldest message is dropped
    await socket.close(final='{"type": "CloseStream"}')

Rules (the modules below cite them by number):

1. Only ``url`` is ever contacted: no proxy from the environment, no redirect is followed
   (a 3xx answer is a ProviderRequestError).
2. A handshake refused with HTTP 401/403 is never retried (the key is wrong); other 4xx are not
   retried either (the request is wrong). 429, 5xx, timeouts and network errors are retried
   with exponential backoff and full jitter, at most ``max_reconnects`` times per outage.
3. One supervisor task per socket. Per connection it runs a sender, a receiver and the
   keepalive timer in one TaskGroup; when the connection ends for any reason other than
   ``close()``, it reconnects (if ``reconnect``) or gives up (``on_give_up``).
4. After a reconnect, ``on_reconnect`` runs before the sender resumes; what it sends goes out
   ahead of the messages queued during the outage (which it may drop with ``discard_queued``).
5. A message is removed from the queue when it is handed to the connection; one that fails
   to go out is put back at the head, so it is sent at least once.
6. An exception in ``on_message`` is logged and the connection goes on.
7. ``close()`` sends what is queued, then ``final``; if there was a ``final`` it waits for the
   server to close (it may answer first), then closes; all within ``drain_timeout_s``.
8. Message contents are never logged (they may be a caller's voice or words).

Modules, one idea each:

* ``handshake``  opening one connection to exactly ``url``; a refused handshake as a typed error
* ``backoff``    whether and when to try connecting again
* ``send_queue`` the bounded, drop-oldest queue of outgoing messages
* ``client``     ``StreamingSocket``: the supervised connection loop and clean close
"""

from voxline.providers.streaming_ws.client import StreamingSocket
from voxline.providers.streaming_ws.handshake import (
    PING_INTERVAL_S,
    PING_TIMEOUT_S,
    classify_handshake,
)
from voxline.providers.streaming_ws.send_queue import Message

__all__ = [
    "PING_INTERVAL_S",
    "PING_TIMEOUT_S",
    "Message",
    "StreamingSocket",
    "classify_handshake",
]
