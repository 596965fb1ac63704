"""Per-call recording of both sides: one stereo file, the caller left, the agent right.

Off by default (`PrivacySettings.recording`). "wav": a plain WAV under recordings_dir;
"encrypted": the same audio AES-256-GCM encrypted at rest (recording_crypto.py), `.wav.enc`,
turned back into a WAV only by `voxline records decrypt`.

The engine hands in each side's 20 ms frames on the event loop (`caller`, `agent`): they are
appended to memory, and about once a second the buffered audio is written by one writer
thread per process, so disk never stalls a call. Files are named by call id only.
"""

from __future__ import annotations

import logging
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from voxline.audio.wav import interleave
from voxline.privacy.recording_crypto import EncryptedWriter, load_key

log = logging.getLogger(__name__)

FLUSH_BYTES = 32_000  # 1 s of 16 kHz PCM16 per side
MAX_SKEW_BYTES = 64_000  # one side this far ahead (2 s): the other was silent; pad it
# One thread writes every recording of the process, in submission order.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxline-recording")
_WAV_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


def recording_path(directory: Path, call_id: str, encrypted: bool) -> Path:
    return Path(directory) / f"{call_id}.wav{'.enc' if encrypted else ''}"


class _WavStream:
    """A stereo PCM16 WAV written as it grows; the sizes are filled in at close."""

    def __init__(self, stream: BinaryIO, rate: int) -> None:
        self._stream = stream
        self._bytes = 0
        stream.write(self._header(rate, 0))
        self._rate = rate

    @staticmethod
    def _header(rate: int, size: int) -> bytes:
        return _WAV_HEADER.pack(b"RIFF", 36 + size, b"WAVE", b"fmt ", 16, 1, 2, rate,
                                rate * 4, 4, 16, b"data", size)

    def write(self, pcm: bytes) -> None:
        self._stream.write(pcm)
        self._bytes += len(pcm)

    def close(self) -> None:
        self._stream.seek(0)
        self._stream.write(self._header(self._rate, self._bytes))
        self._stream.flush()


class CallRecording:
    def __init__(self, path: Path, rate: int, key: bytes | None = None) -> None:
        self.path = path
        self._caller = bytearray()
        self._agent = bytearray()
        self._last: Future[Any] | None = None
        self._closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")
        self._sink: EncryptedWriter | _WavStream = (
            EncryptedWriter(self._file, key, rate, channels=2) if key is not None
            else _WavStream(self._file, rate)
        )

    @classmethod
    def for_call(cls, settings: Any, call_id: str, rate: int) -> CallRecording | None:
        """The recording the settings ask for, or None (recording off)."""
        privacy = settings.privacy
        if privacy.recording == "off":
            return None
        encrypted = privacy.recording == "encrypted"
        key = load_key(privacy.recording_key_env) if encrypted else None
        return cls(recording_path(privacy.recordings_dir, call_id, encrypted), rate, key)

    def caller(self, frame: bytes) -> None:
        self._caller += frame
        self._maybe_flush()

    def agent(self, frame: bytes) -> None:
        self._agent += frame
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if min(len(self._caller), len(self._agent)) >= FLUSH_BYTES or \
                abs(len(self._caller) - len(self._agent)) >= MAX_SKEW_BYTES:
            self._flush(pad=False)

    def _flush(self, *, pad: bool) -> None:
        skewed = abs(len(self._caller) - len(self._agent)) >= MAX_SKEW_BYTES
        size = max(len(self._caller), len(self._agent)) if pad or skewed else \
            min(len(self._caller), len(self._agent))
        size -= size % 2
        if size == 0:
            return
        left, right = bytes(self._caller[:size]), bytes(self._agent[:size])
        del self._caller[:size], self._agent[:size]
        self._last = _WRITER.submit(self._sink.write, interleave(left, right))
        self._last.add_done_callback(self._report)

    def close(self) -> Future[Any] | None:
        """Write what is buffered and finish the file (in the writer thread). Returns the
        future of that last write, for callers that must wait for the file."""
        if self._closed:
            return self._last
        self._closed = True
        self._flush(pad=True)
        self._last = _WRITER.submit(self._finish)
        self._last.add_done_callback(self._report)
        return self._last

    def _report(self, done: Future[Any]) -> None:
        if (err := done.exception()) is not None:
            log.error("recording %s: write failed: %s", self.path.name, err)

    def _finish(self) -> None:
        try:
            self._sink.close()
        finally:
            self._file.close()
