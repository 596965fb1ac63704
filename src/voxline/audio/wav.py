"""WAV files in and out. Reads what real tools write (float, 24-bit, EXTENSIBLE, G.711, streaming
writers' unknown sizes) and always hands back mono PCM16 at the rate asked for.

The stdlib `wave` module in 3.11 rejects float and WAVE_FORMAT_EXTENSIBLE files, which is most
of what DAWs, browsers and TTS vendors produce, hence this small RIFF parser.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxline.audio import g711
from voxline.audio.frames import ENGINE_RATE
from voxline.audio.pcm import duration_ms, mix_to_mono, to_float, to_pcm16
from voxline.audio.resample import resample
from voxline.errors import WavError

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_UNKNOWN_SIZE = 0xFFFFFFFF  # streaming writers (and RF64) put this, or 0, in the data size
_CONVERT_HINT = "convert it with: ffmpeg -i INPUT -ac 1 -ar 16000 -c:a pcm_s16le out.wav"

# First bytes of formats people hand us by mistake, to name them in the error.
_MAGIC = [
    (b"ID3", "an MP3"), (b"\xff\xfb", "an MP3"), (b"\xff\xf3", "an MP3"), (b"\xff\xf2", "an MP3"),
    (b"OggS", "an Ogg (Opus/Vorbis) file"), (b"fLaC", "a FLAC file"),
    (b"\x1aE\xdf\xa3", "a WebM/Matroska file"), (b"FORM", "an AIFF file"),
    (b"RIFX", "a big-endian WAV (unsupported)"), (b"\xff\xf1", "an AAC (ADTS) file"),
]


@dataclass(frozen=True)
class Audio:
    """Mono PCM16 little-endian audio at `rate` Hz."""

    pcm: bytes
    rate: int

    @property
    def duration_ms(self) -> float:
        return duration_ms(self.pcm, self.rate)


@dataclass(frozen=True)
class _Format:
    tag: int
    channels: int
    rate: int
    width: int  # bytes per sample of one channel, as stored


def _guess(head: bytes) -> str:
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return f"; is it {name}?"
    if head[4:8] == b"ftyp":
        return "; is it an MP4/M4A file?"
    if head.startswith(b"RIFF") and head[8:12] != b"WAVE":
        return f"; it is a RIFF file of type {head[8:12]!r}, not WAVE"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "; it looks like text"
    return ""


def _parse_fmt(body: bytes, path: Path) -> _Format:
    if len(body) < 16:
        raise WavError(
            f"{path}: fmt chunk is {len(body)} bytes, needs at least 16; the file is corrupt"
        )
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise WavError(
                f"{path}: WAVE_FORMAT_EXTENSIBLE fmt chunk is truncated "
                f"({len(body)} bytes, needs 40); the file is corrupt"
            )
        # The real format tag is the first two bytes of the SubFormat GUID.
        (tag,) = struct.unpack_from("<H", body, 24)
    if channels == 0:
        raise WavError(f"{path}: the header says 0 channels; the file is corrupt")
    if rate == 0:
        raise WavError(f"{path}: the header says a sample rate of 0 Hz; the file is corrupt")
    # Container width comes from block_align (24-bit audio may sit in 4-byte slots);
    # fall back to the bit depth when a sloppy writer left block_align inconsistent.
    width = block_align // channels if block_align and block_align % channels == 0 else 0
    if width == 0:
        width = (bits + 7) // 8
    ok = {_PCM: (1, 2, 3, 4), _FLOAT: (4, 8), _ALAW: (1,), _ULAW: (1,)}
    if tag not in ok:
        raise WavError(
            f"{path}: unsupported WAV encoding (format tag 0x{tag:04X}); voxline reads PCM, "
            f"IEEE float, mu-law and A-law; {_CONVERT_HINT}"
        )
    if width not in ok[tag]:
        raise WavError(
            f"{path}: unsupported sample width of {width} bytes for format tag 0x{tag:04X}; "
            f"{_CONVERT_HINT}"
        )
    return _Format(tag, channels, rate, width)


def _chunks(data: bytes, path: Path) -> tuple[_Format, bytes]:
    """Walk the RIFF chunks; return the format and the raw sample bytes."""
    fmt: _Format | None = None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        start = pos + 8
        if cid == b"data":
            if size in (0, _UNKNOWN_SIZE) or start + size > len(data):
                # Unknown size (a writer that never came back to fix the header) or a
                # truncated file: the samples run to the end of what we have.
                size = len(data) - start
            if fmt is None:
                raise WavError(
                    f"{path}: the data chunk comes before any fmt chunk; the file is corrupt"
                )
            return fmt, data[start : start + size]
        if cid == b"fmt ":
            fmt = _parse_fmt(data[start : start + size], path)
        # Chunks are padded to even sizes; a few writers forget, and then the pad byte
        # position holds the next chunk's id rather than a zero.
        pad = size & 1 if start + size < len(data) and data[start + size] == 0 else 0
        pos = start + size + pad
    if fmt is None:
        raise WavError(
            f"{path}: no fmt chunk (the header is missing or truncated); the file is corrupt"
        )
    raise WavError(
        f"{path}: no data chunk, so there is no audio in it; the file is truncated or corrupt"
    )


def _decode(raw: bytes, fmt: _Format) -> np.ndarray:
    """Raw interleaved samples to a float32 [frames, channels] array."""
    frame = fmt.width * fmt.channels
    raw = raw[: len(raw) - len(raw) % frame]  # drop a half-written last sample
    if fmt.tag == _ULAW:
        x = to_float(g711.ulaw_decode(raw))
    elif fmt.tag == _ALAW:
        x = to_float(g711.alaw_decode(raw))
    elif fmt.tag == _FLOAT:
        x = np.frombuffer(raw, dtype="<f4" if fmt.width == 4 else "<f8").astype(np.float32)
    elif fmt.width == 1:  # 8-bit WAV is unsigned, centred on 128
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif fmt.width == 2:
        x = to_float(raw)
    elif fmt.width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        # Build at the top of an int32, then shift back down: that sign-extends.
        v = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8
        x = (v >> 8).astype(np.float32) / np.float32(1 << 23)
    else:
        x = (np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    return x.reshape(-1, fmt.channels)


def read_wav(path: str | Path, rate: int | None = ENGINE_RATE) -> Audio:
    """Read any common WAV file as mono PCM16 at `rate` Hz (None keeps the file's rate)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WavError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise WavError(f"{path}: is a folder, not a WAV file") from None
    except OSError as exc:
        reason = exc.strerror or exc
        raise WavError(f"{path}: cannot be read ({reason}); check its permissions") from exc
    if not data:
        raise WavError(f"{path}: the file is empty (0 bytes); it is not a WAV file")
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise WavError(
            f"{path} is not a WAV file (starts with {data[:12]!r}{_guess(data[:16])}); "
            + _CONVERT_HINT
        )
    fmt, raw = _chunks(data, path)
    out_rate = fmt.rate if rate is None else rate
    if fmt.tag == _PCM and fmt.width == 2 and fmt.channels == 1:
        pcm = raw[: len(raw) & ~1]  # already what we want: no float round trip
    else:
        pcm = to_pcm16(mix_to_mono(_decode(raw, fmt)))
    return Audio(resample(pcm, fmt.rate, out_rate), out_rate)


def write_wav(path: str | Path, pcm16: bytes, rate: int, channels: int = 1) -> None:
    """Write interleaved PCM16 as a 16-bit PCM WAV file, creating parent folders."""
    path = Path(path)
    if channels < 1 or rate < 1:
        raise WavError(f"{path}: cannot write {channels} channels at {rate} Hz; both must be >= 1")
    block = 2 * channels
    if len(pcm16) % block:
        raise WavError(
            f"{path}: {len(pcm16)} bytes is not a whole number of {channels}-channel PCM16 frames "
            f"({block} bytes each); pass complete samples"
        )
    if len(pcm16) > 0xFFFFFFFF - 36:
        raise WavError(
            f"{path}: {len(pcm16)} bytes is too large for a WAV file (4 GiB limit); split it"
        )
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm16), b"WAVE", b"fmt ", 16, _PCM, channels,
        rate, rate * block, block, 16, b"data", len(pcm16),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(header)
        f.write(pcm16)


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono PCM16 tracks into one stereo PCM16 buffer; the shorter is padded with silence."""
    a, b = np.frombuffer(left, dtype="<i2"), np.frombuffer(right, dtype="<i2")
    out = np.zeros((max(a.size, b.size), 2), dtype="<i2")
    out[: a.size, 0] = a
    out[: b.size, 1] = b
    return out.tobytes()
