"""Recordings encrypted at rest: AES-256-GCM in chunks, written as the call goes.

A call's audio arrives for minutes and must reach disk as it comes, so one GCM message over
the whole file will not do. The file is a sequence of GCM messages (the STREAM construction of
Hoang, Reyhanitabar, Rogaway and Vizár), each under the same key with its own nonce:

    header  = MAGIC (6) | nonce prefix (7, random per file) | rate (u32) | channels (u16)
    chunk   = length of what follows (u32) | AES-GCM(plaintext PCM16) with its 16-byte tag
    nonce_i = nonce prefix | i (u32, big-endian) | 1 if this is the last chunk else 0

Rules:

1. Every chunk authenticates the whole header (associated data): a changed rate, channel count
   or prefix fails every chunk.
2. The counter in the nonce fixes the chunks' order: a reordered or dropped chunk fails.
3. The last chunk says it is last: a file cut short (a crash, a truncation) fails at the end
   instead of passing for a shorter call.
4. A random 56-bit prefix per file and a 32-bit counter keep nonces unique under one key for
   any realistic number of files (the birthday bound on 56 bits is ~2^28 files).

The key is 32 bytes from an environment variable, as 64 hex digits or base64.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from voxline.errors import ConfigError, VoxlineError

MAGIC = b"VXREC\x01"
PREFIX_BYTES = 7
_HEADER = struct.Struct(f">{len(MAGIC)}s{PREFIX_BYTES}sIH")
_LENGTH = struct.Struct(">I")
TAG_BYTES = 16
MAX_CHUNK = 1 << 20  # a length above this is corruption, not audio
KEY_HINT = 'make one with: python -c "import secrets; print(secrets.token_hex(32))"'


class RecordingError(VoxlineError):
    """An encrypted recording could not be read: wrong key, altered, or cut short."""


def load_key(env_name: str, environ: Mapping[str, str] | None = None) -> bytes:
    """The 256-bit recording key from the environment variable `env_name`."""
    raw = (os.environ if environ is None else environ).get(env_name, "").strip()
    if not raw:
        raise ConfigError(f"encrypted recording needs a 256-bit key in ${env_name}; {KEY_HINT}")
    for decode in (bytes.fromhex, lambda text: base64.b64decode(text, validate=True)):
        try:
            key = decode(raw)
        except (ValueError, binascii.Error):
            continue
        if len(key) == 32:
            return key
    raise ConfigError(f"${env_name} is not a 256-bit key (64 hex digits or 32 bytes in "
                      f"base64); {KEY_HINT}")


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


class EncryptedWriter:
    """Writes PCM16 to `stream` as encrypted chunks; `close()` writes the last one."""

    def __init__(self, stream: BinaryIO, key: bytes, rate: int, channels: int = 1,
                 chunk_bytes: int = 64 * 1024) -> None:
        self._stream = stream
        self._aead = AESGCM(key)
        self._prefix = os.urandom(PREFIX_BYTES)
        self._header = _HEADER.pack(MAGIC, self._prefix, rate, channels)
        self._chunk_bytes = chunk_bytes
        self._pending = bytearray()
        self._index = 0
        self.closed = False
        stream.write(self._header)

    def write(self, pcm: bytes) -> None:
        self._pending += pcm
        while len(self._pending) > self._chunk_bytes:  # keep some back: the last may be it
            self._emit(bytes(self._pending[: self._chunk_bytes]), last=False)
            del self._pending[: self._chunk_bytes]

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._pending), last=True)
            self._pending.clear()
            self._stream.flush()
            self.closed = True

    def _emit(self, plain: bytes, *, last: bool) -> None:
        if self._index >= 0xFFFFFFFF:
            raise RecordingError("recording too long for one file (2^32 chunks)")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain, self._header)
        self._stream.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1


@dataclass(frozen=True)
class Decrypted:
    rate: int
    channels: int
    pcm: bytes


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    while head := stream.read(_LENGTH.size):
        if len(head) < _LENGTH.size:
            raise RecordingError("the recording is cut short inside a chunk length")
        (length,) = _LENGTH.unpack(head)
        if not TAG_BYTES <= length <= MAX_CHUNK + TAG_BYTES:
            raise RecordingError(f"a chunk length of {length} bytes: the file is corrupt")
        body = stream.read(length)
        if len(body) < length:
            raise RecordingError("the recording is cut short inside a chunk")
        yield body


def decrypt(stream: BinaryIO, key: bytes) -> Decrypted:
    """Read a whole encrypted recording; raises RecordingError if anything fails to verify."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        raise RecordingError("not a voxline encrypted recording (bad header)")
    _, prefix, rate, channels = _HEADER.unpack(header)
    aead = AESGCM(key)
    pcm = bytearray()
    pending: bytes | None = None  # one chunk behind: only at the end do we know which is last
    index = 0
    for body in _chunks(stream):
        if pending is not None:
            pcm += _open(aead, prefix, index, False, pending, header)
            index += 1
        pending = body
    if pending is None:
        raise RecordingError("the recording has no chunks: it was cut short")
    pcm += _open(aead, prefix, index, True, pending, header)
    return Decrypted(rate, channels, bytes(pcm))


def _open(aead: AESGCM, prefix: bytes, index: int, last: bool, body: bytes,
          header: bytes) -> bytes:
    try:
        return aead.decrypt(_nonce(prefix, index, last), body, header)
    except InvalidTag:
        where = "its last chunk" if last else f"chunk {index}"
        raise RecordingError(
            f"{where} does not verify: wrong key, or the file was altered or cut short"
        ) from None
