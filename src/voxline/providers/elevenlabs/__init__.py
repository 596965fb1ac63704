"""ElevenLabs streaming text to speech over the stream-input WebSocket.

Modules, one idea each:

* ``tts``        ``ElevenLabsTTS``: clauses in, clause-tagged PCM16 chunks out
* ``pool``       sockets opened ahead of the turns, so no reply waits for a handshake
* ``generation`` one socket serving one turn, and what it heard from the server
* ``decoder``    pcm / ulaw / mp3 from the server to PCM16
* ``clauses``    which clause each piece of audio belongs to, from the alignment
"""

from voxline.providers.elevenlabs.clauses import ClauseTracker
from voxline.providers.elevenlabs.tts import ElevenLabsTTS

__all__ = ["ClauseTracker", "ElevenLabsTTS"]
