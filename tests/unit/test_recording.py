"""Recordings at rest: AES-256-GCM chunks that round-trip and refuse any tampering, keys from
the environment, and the per-call stereo recording (plain WAV and encrypted)."""

from __future__ import annotations

import base64
import io
import os

import numpy as np
import pytest

from voxline.audio.wav import read_wav
from voxline.config import PrivacySettings, Settings
from voxline.errors import ConfigError
from voxline.privacy.recording import CallRecording, recording_path
from voxline.privacy.recording_crypto import (
    EncryptedWriter,
    RecordingError,
    decrypt,
    load_key,
)

KEY = bytes(range(32))


def sealed(pcm: bytes, chunk_bytes: int = 1000) -> bytes:
    out = io.BytesIO()
    writer = EncryptedWriter(out, KEY, 16000, channels=2, chunk_bytes=chunk_bytes)
    for i in range(0, len(pcm), 333):  # written in odd pieces, as frames come
        writer.write(pcm[i : i + 333])
    writer.close()
    return out.getvalue()


def test_round_trip_in_many_chunks_and_in_none():
    pcm = os.urandom(10_000)
    result = decrypt(io.BytesIO(sealed(pcm)), KEY)
    assert (result.pcm, result.rate, result.channels) == (pcm, 16000, 2)
    assert decrypt(io.BytesIO(sealed(b"")), KEY).pcm == b""
    assert pcm[:200] not in sealed(pcm)  # the audio is not in the file in clear


def test_each_file_has_its_own_nonces():
    pcm = bytes(3000)
    assert sealed(pcm) != sealed(pcm)


@pytest.mark.parametrize("where", [8, 20, 40, 1500, -1])  # prefix, rate, first chunk, mid, tag
def test_any_flipped_byte_is_refused(where):
    data = bytearray(sealed(os.urandom(5000)))
    data[where] ^= 0x01
    with pytest.raises(RecordingError):
        decrypt(io.BytesIO(bytes(data)), KEY)


def test_cut_short_reordered_or_wrong_key_is_refused():
    data = sealed(os.urandom(5000))
    chunk = 4 + 1000 + 16  # 5000 bytes: four chunks, then the last one of 1000
    header = 6 + 7 + 4 + 2
    assert len(data) == header + 5 * chunk
    with pytest.raises(RecordingError, match="last chunk"):  # dropped the final chunk(s)
        decrypt(io.BytesIO(data[: header + 2 * chunk]), KEY)
    with pytest.raises(RecordingError):  # cut inside a chunk
        decrypt(io.BytesIO(data[:-7]), KEY)
    swapped = data[:header] + data[header + chunk : header + 2 * chunk] + \
        data[header : header + chunk] + data[header + 2 * chunk :]
    with pytest.raises(RecordingError, match="chunk 0"):
        decrypt(io.BytesIO(swapped), KEY)
    with pytest.raises(RecordingError):
        decrypt(io.BytesIO(data), bytes(32))
    with pytest.raises(RecordingError, match="header"):
        decrypt(io.BytesIO(b"RIFF" + data[4:]), KEY)


def test_keys_come_from_the_environment_as_hex_or_base64():
    assert load_key("K", {"K": KEY.hex()}) == KEY
    assert load_key("K", {"K": base64.b64encode(KEY).decode()}) == KEY
    with pytest.raises(ConfigError, match=r"\$K.*token_hex"):
        load_key("K", {})
    with pytest.raises(ConfigError, match="not a 256-bit key"):
        load_key("K", {"K": "abcd"})


def tone(n: int, freq: float) -> bytes:
    t = np.arange(n) / 16000
    return (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2").tobytes()


def record(settings: Settings, call_id: str, caller: bytes, agent: list[bytes | None]) -> None:
    recording = CallRecording.for_call(settings, call_id, 16000)
    assert recording is not None
    for i in range(0, len(caller), 640):
        recording.caller(caller[i : i + 640])
        frame = agent[i // 640] if i // 640 < len(agent) else None
        recording.agent(frame if frame is not None else bytes(640))
    recording.close().result(10)


def test_a_call_recorded_as_plain_wav_has_both_sides(tmp_path):
    settings = Settings(privacy=PrivacySettings(recording="wav", recordings_dir=tmp_path))
    caller = tone(16000 * 3, 300)  # 3 s: three writes and a remainder
    agent = [tone(320, 1000)] * 100
    record(settings, "c1", caller, agent)
    path = recording_path(tmp_path, "c1", encrypted=False)
    with open(path, "rb") as f:
        data = f.read()
    stereo = np.frombuffer(data[44:], dtype="<i2").reshape(-1, 2)
    assert stereo.shape[0] == 16000 * 3
    assert np.array_equal(stereo[:, 0].tobytes(), caller)
    assert np.abs(stereo[: 16000 * 2, 1]).max() > 1000 and not stereo[16000 * 2 :, 1].any()
    assert read_wav(path, None).rate == 16000  # a WAV any tool opens


def test_a_call_recorded_encrypted_decrypts_to_the_same_audio(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXLINE_RECORDING_KEY", KEY.hex())
    settings = Settings(privacy=PrivacySettings(recording="encrypted", recordings_dir=tmp_path))
    caller = tone(16000 * 2, 440)
    record(settings, "c2", caller, [])
    path = recording_path(tmp_path, "c2", encrypted=True)
    assert path.name == "c2.wav.enc" and not (tmp_path / "c2.wav").exists()
    with open(path, "rb") as f:
        result = decrypt(f, KEY)
    stereo = np.frombuffer(result.pcm, dtype="<i2").reshape(-1, 2)
    assert result.channels == 2 and stereo[:, 0].tobytes() == caller and not stereo[:, 1].any()


def test_encrypted_recording_without_a_key_fails_at_the_start_of_the_call(tmp_path, monkeypatch):
    monkeypatch.delenv("VOXLINE_RECORDING_KEY", raising=False)
    settings = Settings(privacy=PrivacySettings(recording="encrypted", recordings_dir=tmp_path))
    with pytest.raises(ConfigError, match="VOXLINE_RECORDING_KEY"):
        CallRecording.for_call(settings, "c3", 16000)
    assert CallRecording.for_call(Settings(), "c4", 16000) is None  # off by default
