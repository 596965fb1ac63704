"""WAV reading of what real tools write, clear errors for what is not a WAV, exact round trips."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from voxline.audio.g711 import alaw_encode, ulaw_encode
from voxline.audio.pcm import rms_dbfs, to_pcm16
from voxline.audio.wav import Audio, interleave, read_wav, write_wav
from voxline.errors import WavError

KSDATAFORMAT_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def riff(
    tag: int,
    channels: int,
    rate: int,
    width: int,
    raw: bytes,
    *,
    extensible: bool = False,
    before_data: bytes = b"",
    data_size: int | None = None,
) -> bytes:
    """A WAV file image, built by hand so each test can bend one field."""
    block = width * channels
    fmt_tag = 0xFFFE if extensible else tag
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, width * 8)
    if extensible:
        fmt += struct.pack("<HHI", 22, width * 8, 0) + struct.pack("<H", tag) + KSDATAFORMAT_TAIL
    size = len(raw) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + before_data
    body += b"data" + struct.pack("<I", size) + raw
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)


def dominant_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    return float(np.argmax(np.abs(np.fft.rfft(x * np.hanning(x.size))))) * rate / x.size


def put(tmp_path: Path, data: bytes, name: str = "in.wav") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_sine(audio: Audio, freq: float, ms: float, dbfs: float) -> None:
    assert audio.rate == 16000
    assert audio.duration_ms == pytest.approx(ms, abs=0.1)
    assert dominant_hz(audio.pcm, 16000) == pytest.approx(freq, abs=2)
    edge = 1600  # the resampler's edges
    assert rms_dbfs(audio.pcm[edge:-edge]) == pytest.approx(dbfs, abs=0.2)


def test_stereo_float32_44k1_reads_as_16k_mono(tmp_path: Path) -> None:
    x = sine(440, 44100, 1.0)
    stereo = np.stack([x, x], axis=1).astype("<f4")
    audio = read_wav(put(tmp_path, riff(3, 2, 44100, 4, stereo.tobytes())))
    assert_sine(audio, 440, 1000.0, -9.03)


def test_stereo_24bit_48k_reads_as_16k_mono(tmp_path: Path) -> None:
    x = np.round(sine(1000, 48000, 0.5) * (1 << 23)).astype(np.int32)
    both = np.stack([x, x], axis=1).reshape(-1)
    raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in both)
    audio = read_wav(put(tmp_path, riff(1, 2, 48000, 3, raw)))
    assert_sine(audio, 1000, 500.0, -9.03)


def test_extensible_and_other_encodings(tmp_path: Path) -> None:
    x = sine(700, 16000, 0.25)
    pcm = to_pcm16(x)
    cases = {
        "u8": riff(1, 1, 16000, 1, np.round(x * 127 + 128).astype(np.uint8).tobytes()),
        "s32": riff(1, 1, 16000, 4, np.round(x * 2**31).astype("<i4").tobytes()),
        "f64": riff(3, 1, 16000, 8, x.astype("<f8").tobytes()),
        "ext-f32": riff(3, 1, 16000, 4, x.astype("<f4").tobytes(), extensible=True),
        "ext-s16": riff(1, 1, 16000, 2, pcm, extensible=True),
        "ulaw": riff(7, 1, 16000, 1, ulaw_encode(pcm)),
        "alaw": riff(6, 1, 16000, 1, alaw_encode(pcm)),
    }
    for name, data in cases.items():
        audio = read_wav(put(tmp_path, data, f"{name}.wav"))
        got = np.frombuffer(audio.pcm, "<i2").astype(int)
        want = np.frombuffer(pcm, "<i2").astype(int)
        assert got.size == want.size, name
        # Exact for lossless encodings; 8-bit and G.711 are within their quantization step.
        tol = {"u8": 260, "ulaw": 520, "alaw": 520}.get(name, 1)
        assert np.abs(got - want).max() <= tol, name


def test_24bit_extremes_and_sign(tmp_path: Path) -> None:
    raw = bytes.fromhex("000080" "ffff7f" "ffffff" "000000" "000040")
    audio = read_wav(put(tmp_path, riff(1, 1, 16000, 3, raw)))
    assert np.frombuffer(audio.pcm, "<i2").tolist() == [-32768, 32767, 0, 0, 16384]


def test_channels_are_averaged(tmp_path: Path) -> None:
    left = np.full(160, 0.5)
    right = np.zeros(160)
    raw = np.stack([left, right], axis=1).astype("<f4").tobytes()
    audio = read_wav(put(tmp_path, riff(3, 2, 16000, 4, raw)))
    assert set(np.frombuffer(audio.pcm, "<i2").tolist()) == {8192}


def test_unknown_chunks_odd_padding_and_unknown_sizes(tmp_path: Path) -> None:
    pcm = to_pcm16(sine(300, 16000, 0.1))
    odd_list = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\x00"  # 5 bytes + pad byte
    even_junk = b"junk" + struct.pack("<I", 4) + b"abcd"
    for before, size in ((odd_list, None), (even_junk, None), (b"", 0), (b"", 0xFFFFFFFF)):
        data = riff(1, 1, 16000, 2, pcm, before_data=before, data_size=size)
        audio = read_wav(put(tmp_path, data), rate=None)
        assert audio.pcm == pcm


def test_truncated_last_sample_is_dropped(tmp_path: Path) -> None:
    pcm = to_pcm16(sine(300, 8000, 0.1))
    stereo = interleave(pcm, pcm)
    # The header promises more than the file holds, and the last frame is cut mid-sample.
    data = riff(1, 2, 8000, 2, stereo, data_size=len(stereo) + 1000)[:-3]
    audio = read_wav(put(tmp_path, data), rate=None)
    assert audio.rate == 8000
    assert audio.pcm == pcm[:-2]


def test_write_read_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    pcm = rng.integers(-32768, 32768, 8001, dtype=np.int16).astype("<i2").tobytes()
    path = tmp_path / "deep" / "folder" / "out.wav"
    write_wav(path, pcm, 8000)
    assert read_wav(path, rate=None) == Audio(pcm, 8000)
    assert read_wav(path, rate=8000).pcm == pcm
    # The header is the canonical 44-byte PCM one.
    head = path.read_bytes()[:44]
    assert head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt " and head[36:40] == b"data"
    assert struct.unpack_from("<HHIIHH", head, 20) == (1, 1, 8000, 16000, 2, 16)


def test_write_stereo_and_interleave(tmp_path: Path) -> None:
    left, right = b"\x01\x00\x02\x00\x03\x00", b"\xff\xff"
    stereo = interleave(left, right)
    assert np.frombuffer(stereo, "<i2").tolist() == [1, -1, 2, 0, 3, 0]
    path = tmp_path / "s.wav"
    write_wav(path, stereo, 16000, channels=2)
    assert read_wav(path).pcm == np.array([0, 1, 2], dtype="<i2").tobytes()  # (1-1)/2, (2+0)/2, ...
    with pytest.raises(WavError, match="whole number"):
        write_wav(path, b"\x00\x00", 16000, channels=2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + os.urandom(500), r"starts with b'ID3.*MP3"),
        (b"\xff\xfb\x90\x64" + bytes(500), "MP3"),
        (b"OggS\x00\x02" + bytes(100), "Ogg"),
        (b"hello, this is a text file\nnot audio\n", "looks like text"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "AVI"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "fmt chunk is 2 bytes"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no fmt chunk"),
        (b"RIFF", "not a WAV file"),
    ],
)
def test_not_a_wav_says_what_it_is(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(WavError, match=message):
        read_wav(put(tmp_path, data))


def test_random_bytes_are_rejected(tmp_path: Path) -> None:
    data = bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8))
    with pytest.raises(WavError, match="is not a WAV file"):
        read_wav(put(tmp_path, data))


def test_riff_without_data_chunk(tmp_path: Path) -> None:
    data = riff(1, 1, 16000, 2, b"")
    data = data[: data.index(b"data")]
    with pytest.raises(WavError, match="no data chunk"):
        read_wav(put(tmp_path, data))


@pytest.mark.parametrize(
    ("tag", "channels", "rate", "width", "message"),
    [
        (0x0055, 1, 16000, 2, r"unsupported WAV encoding \(format tag 0x0055\)"),
        (0x0011, 1, 8000, 1, "0x0011"),
        (1, 0, 16000, 2, "0 channels"),
        (1, 1, 0, 2, "0 Hz"),
        (3, 1, 16000, 2, "sample width of 2 bytes"),
    ],
)
def test_bad_formats(
    tmp_path: Path, tag: int, channels: int, rate: int, width: int, message: str
) -> None:
    with pytest.raises(WavError, match=message):
        read_wav(put(tmp_path, riff(tag, channels, rate, width, bytes(64))))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(WavError, match="no such file"):
        read_wav(tmp_path / "nope.wav")
    with pytest.raises(WavError, match="folder"):
        read_wav(tmp_path)


def test_empty_data_chunk_is_empty_audio(tmp_path: Path) -> None:
    audio = read_wav(put(tmp_path, riff(1, 1, 16000, 2, b"")))
    assert audio == Audio(b"", 16000)
    assert audio.duration_ms == 0.0
