"""20 ms PCM16 frames: the unit every transport, VAD and the turn engine exchange."""

from __future__ import annotations

from collections.abc import Iterator

ENGINE_RATE = 16000  # the turn engine (VAD, STT) runs at 16 kHz mono
FRAME_MS = 20  # RTP, Twilio and WebRTC all pace audio in 20 ms packets
SAMPLE_WIDTH = 2  # PCM16 little-endian mono


def samples_per_frame(rate: int) -> int:
    """Samples in one 20 ms frame at `rate` Hz."""
    if rate <= 0 or (rate * FRAME_MS) % 1000:
        # 11025 Hz, say, has 220.5 samples per frame: frames would drift against the clock.
        raise ValueError(
            f"sample rate {rate} Hz does not hold a whole number of samples in {FRAME_MS} ms; "
            "resample to 8000, 16000, 24000, 44100 or 48000 Hz first"
        )
    return rate * FRAME_MS // 1000


def frame_bytes(rate: int) -> int:
    """Bytes in one 20 ms PCM16 mono frame at `rate` Hz."""
    return samples_per_frame(rate) * SAMPLE_WIDTH


def silence(rate: int, ms: int = FRAME_MS) -> bytes:
    """`ms` milliseconds of digital silence (PCM16 mono)."""
    if ms < 0:
        raise ValueError(f"silence length must be >= 0 ms, got {ms}")
    return bytes(rate * ms // 1000 * SAMPLE_WIDTH)


class FrameSplitter:
    """Cuts a stream of arbitrarily sized PCM16 chunks into exact 20 ms frames.

    Network chunks arrive in any size (even odd byte counts, mid-sample); the remainder is
    kept until the next push. Each byte is copied a bounded number of times, so a long call
    costs linear time however small the chunks are.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._frame_bytes = frame_bytes(rate)
        self._buf = bytearray()

    def push(self, pcm: bytes) -> list[bytes]:
        """Add `pcm` and return every complete frame now available (possibly none)."""
        fb = self._frame_bytes
        self._buf += pcm
        n = len(self._buf) // fb
        if n == 0:
            return []
        # The memoryview must be released before the bytearray is resized below.
        with memoryview(self._buf) as view:
            frames = [bytes(view[i * fb : (i + 1) * fb]) for i in range(n)]
        # What is left is shorter than one frame, so this shift is cheap.
        del self._buf[: n * fb]
        return frames

    @property
    def empty(self) -> bool:
        """No part-frame is waiting for the next push."""
        return not self._buf

    def flush(self) -> bytes | None:
        """Return the remainder zero-padded to a full frame, or None when nothing is left."""
        if not self._buf:
            return None
        frame = bytes(self._buf) + bytes(self._frame_bytes - len(self._buf))
        self._buf.clear()
        return frame


def frames_of(pcm: bytes, rate: int) -> Iterator[bytes]:
    """Split a whole buffer into 20 ms frames; the last one is zero-padded."""
    fb = frame_bytes(rate)
    view = memoryview(pcm)
    for start in range(0, len(pcm), fb):
        frame = bytes(view[start : start + fb])
        yield frame if len(frame) == fb else frame + bytes(fb - len(frame))
