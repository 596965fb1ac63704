"""The file caller's agent track: in memory, streamed to a WAV file, or not kept at all."""

from __future__ import annotations

import wave

import numpy as np
from test_call_engine import QUIET, SPEECH, make_call

from voxline.audio.frames import ENGINE_RATE
from voxline.audio.wav import Audio
from voxline.transports.file import EVENTS_KEPT, AgentTrack, FileCaller


def test_streamed_track_is_a_wav_of_every_frame_and_keeps_nothing_in_memory(tmp_path):
    track = AgentTrack(tmp_path / "out" / "agent.wav")
    frames = [bytes([i]) * 640 for i in range(50)]
    for frame in frames:
        track.write(frame)
    track.close()
    assert track.audio() == b""
    with wave.open(str(tmp_path / "out" / "agent.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (ENGINE_RATE, 1, 2)
        assert wav.readframes(wav.getnframes()) == b"".join(frames)


def test_discarded_track_keeps_nothing_and_memory_track_keeps_all():
    dropped, kept = AgentTrack.discard(), AgentTrack()
    for track in (dropped, kept):
        track.write(SPEECH)
        track.write(QUIET)
        track.close()
    assert dropped.audio() == b""
    assert kept.audio() == SPEECH + QUIET


async def test_file_caller_streams_the_same_track_it_would_keep(tmp_path):
    utterance = Audio(SPEECH * 20 + QUIET * 5, ENGINE_RATE)
    kept = await FileCaller(make_call(["Hello."]), [utterance], fast=True, pause_ms=100).run()
    path = tmp_path / "agent.wav"
    streamed = await FileCaller(
        make_call(["Hello."]), [utterance], fast=True, pause_ms=100, agent_track=AgentTrack(path)
    ).run()
    assert streamed.agent_audio == b""
    with wave.open(str(path)) as wav:
        on_disk = wav.readframes(wav.getnframes())
    # The same answer, tone for tone; the timeline may differ by a tick of scheduling.
    assert np.count_nonzero(np.frombuffer(on_disk, np.int16)) == np.count_nonzero(
        np.frombuffer(kept.agent_audio, np.int16)
    )
    assert 0 < len(kept.events) <= EVENTS_KEPT


def test_write_outputs_leaves_a_streamed_track_as_it_is(tmp_path):
    from voxline.talk import TalkResult, write_outputs

    path = tmp_path / "agent.wav"
    track = AgentTrack(path)
    track.write(SPEECH)
    track.close()
    result = TalkResult("c1", [], [], track.audio(), [], [], recorded_to=path)
    write_outputs(result, path, None)
    with wave.open(str(path)) as wav:
        assert wav.readframes(wav.getnframes()) == SPEECH  # not overwritten with b""
