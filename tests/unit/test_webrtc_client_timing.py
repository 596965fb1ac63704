"""The scripted WebRTC caller keeps what the exact overhead is timed from: when each mic frame
went to aiortc's sender, and when each stretch of agent audio began to arrive."""

import numpy as np

from voxline.testing import webrtc_client as wc
from voxline.testing.webrtc_client import CallLog, ScriptedMic


async def test_the_mic_keeps_each_frames_send_time_by_index(monkeypatch):
    monkeypatch.setattr(wc, "SENDS_KEPT", 5)
    voiced = (np.ones(960 * 3) * 8000).astype(np.int16).tobytes()  # 3 frames of "voice"
    mic = ScriptedMic(voiced)
    times = []
    for _ in range(8):
        await mic.recv()
        times.append(mic._sent_at[-1])
    assert mic.voiced_frame == 2 and mic.voice_ended_at is not None
    assert mic.sends_from(5, 10) == times[5:]
    assert mic.sends_from(3, 2) == times[3:5]
    assert mic.sends_from(2, 3) == []  # no longer kept: not guessed
    assert times == sorted(times)
    mic.stop()


def test_first_media_after_is_the_first_onset_at_or_after_the_voice_end():
    log = CallLog(media_onsets=[1.0, 5.0, 9.0])
    assert log.first_media_after(4.0) == 5.0
    assert log.first_media_after(5.0) == 5.0
    assert log.first_media_after(9.5) is None
