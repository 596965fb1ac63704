"""`voxline call`: a bad script or an unreachable server is a clear message and a non-zero
exit; a call prints the per-turn table and writes call.json and the recordings."""

from __future__ import annotations

import asyncio
import json
import socket
import sys

from test_caller_twilio import speech_like

from voxline.bench.caller import Script, ScriptError
from voxline.bench.caller.delay.twilio_peer import twilio_delay_agent
from voxline.cli import main


def test_a_missing_wav_exits_2_before_dialling(capsys, tmp_path):
    assert main(["call", "sip:agent@127.0.0.1:9", "--transport", "sip",
                 "--script", str(tmp_path / "nope.wav")]) == 2
    assert "nope.wav" in capsys.readouterr().err


def test_a_silent_wav_and_a_bad_toml_are_refused(tmp_path):
    silent = tmp_path / "silent.wav"
    from voxline.audio.wav import write_wav

    write_wav(silent, bytes(16000), 8000)
    try:
        Script.from_wavs([silent])
    except ScriptError as err:
        assert "silent" in str(err)
    else:
        raise AssertionError("a silent WAV was accepted")
    bad = tmp_path / "s.toml"
    bad.write_text('[[turn]]\nwav = "a.wav"\nbarge_in = 3\n')
    try:
        Script.from_toml(bad)
    except ScriptError as err:
        assert "barge_in" in str(err)
    else:
        raise AssertionError("an unknown key was accepted")


def test_a_toml_script_resolves_wavs_next_to_it(tmp_path):
    speech_like(tmp_path / "q.wav")
    (tmp_path / "s.toml").write_text(
        'seed = 3\n[[turn]]\nwav = "q.wav"\n[[turn]]\nwav = "q.wav"\nbarge_in_after_ms = 500\n')
    script = Script.load([tmp_path / "s.toml"])
    assert [t.wav for t in script.turns] == [tmp_path / "q.wav"] * 2
    assert script.turns[1].barge_in_after_ms == 500
    gaps = script.gaps_ms()
    assert gaps == script.gaps_ms() and all(400 <= g <= 800 for g in gaps)


def test_nothing_listening_exits_1_with_what_to_check(capsys, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    wav = speech_like(tmp_path / "q.wav")
    assert main(["call", f"http://127.0.0.1:{port}", "--transport", "twilio",
                 "--twilio-auth-token", "t", "--script", str(wav)]) == 1
    assert "is `voxline serve` running" in capsys.readouterr().err


async def test_a_call_prints_the_table_and_writes_json_and_wavs(tmp_path):
    wav = speech_like(tmp_path / "q.wav")
    out = tmp_path / "out"
    async with twilio_delay_agent(300) as agent:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "voxline.cli", "call", agent.url, "--transport", "twilio",
            "--twilio-auth-token", "t", "--script", str(wav), "--out", str(out),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, stderr.decode()
    assert "voice_to_voice_ms" in stdout.decode()
    data = json.loads((out / "call.json").read_text())
    assert data["transport"] == "twilio" and data["turns"][0]["answered"]
    assert abs(data["turns"][0]["voice_to_voice_ms"] - 300) <= 40
    assert (out / "heard.wav").exists() and (out / "sent.wav").exists()
