"""WebRTC media: PyAV frames, the paced 48 kHz agent track, and the caller pump into 16 kHz."""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from voxline.audio.frames import ENGINE_RATE
from voxline.transports.webrtc.av_frames import audio_frame, mono_pcm16
from voxline.transports.webrtc.inbound import CallerAudio
from voxline.transports.webrtc.outbound import SAMPLES_48K, SPEAKING_HANGOVER_TICKS, AgentAudioTrack


def tone(rate: int, ms: int, hz: float = 440.0, level: float = 0.3) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype(np.int16).tobytes()


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


# -- frames -----------------------------------------------------------------------------------


def test_a_mono_frame_carries_its_pcm_rate_and_pts():
    pcm = tone(48000, 20)
    frame = audio_frame(pcm, 48000, pts=960 * 7)
    assert (frame.samples, frame.sample_rate, frame.pts, frame.layout.name) == (960, 48000, 6720, "mono")
    assert mono_pcm16(frame) == pcm


def test_the_first_channel_of_a_stereo_or_planar_frame_is_kept():
    left = np.arange(960, dtype=np.int16)
    right = -left
    packed = av.AudioFrame(format="s16", layout="stereo", samples=960)
    packed.planes[0].update(np.stack([left, right], axis=1).ravel().tobytes())
    assert mono_pcm16(packed) == left.tobytes()
    planar = av.AudioFrame.from_ndarray(np.stack([left, right]), format="s16p", layout="stereo")
    assert mono_pcm16(planar) == left.tobytes()


def test_odd_byte_counts_and_float_frames_are_refused():
    with pytest.raises(ValueError):
        audio_frame(b"\x00\x01\x02", 48000, 0)
    floats = av.AudioFrame(format="flt", layout="mono", samples=960)
    with pytest.raises(ValueError, match="s16"):
        mono_pcm16(floats)


# -- the agent's track ------------------------------------------------------------------------


class Script:
    """Stands in for Call.next_frame: the given 16 kHz frames, then silence (None)."""

    def __init__(self, frames: list[bytes | None]) -> None:
        self.frames = list(frames)
        self.pulled = 0

    def __call__(self) -> bytes | None:
        self.pulled += 1
        return self.frames.pop(0) if self.frames else None


def test_agent_audio_comes_out_at_48k_in_exact_frames_and_silence_stays_digital_zero():
    speech = tone(ENGINE_RATE, 400)
    frames16 = [speech[i : i + 640] for i in range(0, len(speech), 640)]
    script = Script([None] * 10 + frames16)
    events: list[bool] = []
    track = AgentAudioTrack(script, events.append)
    out = [track.next_pcm() for _ in range(10 + len(frames16) + 40)]
    assert all(len(pcm) == SAMPLES_48K * 2 for pcm in out)
    assert all(rms(pcm) == 0 for pcm in out[:10])  # idle: zeros, not dither
    voiced = [i for i, pcm in enumerate(out) if rms(pcm) > 1000]
    # 20 frames of tone in, 20 loud frames out, the first in the very tick it was pulled
    # (the 3:1 filter's ~1 ms delay, not soxr's one or two bursty ticks), with no hole.
    assert len(voiced) in (20, 21) and voiced[0] == 10  # 21: the 1 ms tail in the next tick
    assert voiced == list(range(voiced[0], voiced[-1] + 1))
    assert rms(b"".join(out[voiced[0] : voiced[-1]])) == pytest.approx(0.3 * 32767 / 2**0.5, rel=0.05)
    assert all(rms(pcm) == 0 for pcm in out[voiced[-1] + 3 :])  # the filter tail is short
    assert track.agent_frames == 20
    assert script.pulled == len(out)  # one pull from the call per tick, always
    assert events == [True, False]  # speaking, then quiet after the hangover


def test_speaking_ends_only_after_the_hangover():
    events: list[bool] = []
    gap = [None] * (SPEAKING_HANGOVER_TICKS - 2)
    script = Script([tone(ENGINE_RATE, 20)] + gap + [tone(ENGINE_RATE, 20)])
    track = AgentAudioTrack(script, events.append)
    for _ in range(1 + len(gap) + 1):
        track.next_pcm()
    assert events == [True]  # a pause between clauses is not the end of speaking
    for _ in range(SPEAKING_HANGOVER_TICKS):
        track.next_pcm()
    assert events == [True, False]


async def test_recv_paces_20ms_frames_with_continuous_timestamps():
    track = AgentAudioTrack(Script([]))
    started = time.monotonic()
    frames = [await track.recv() for _ in range(10)]
    elapsed = time.monotonic() - started
    assert [f.pts for f in frames] == [i * SAMPLES_48K for i in range(10)]
    assert all(f.sample_rate == 48000 and f.samples == SAMPLES_48K for f in frames)
    assert elapsed >= 9 * 0.020 - 0.002  # never faster than real time
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_a_released_answer_wakes_the_quiet_track_and_the_schedule_restarts_there():
    script = Script([])
    track = AgentAudioTrack(script)
    await track.recv()  # the first tick starts the schedule
    waiting = asyncio.ensure_future(track.recv())  # asleep until the next 20 ms tick
    await asyncio.sleep(0)
    track.wake()  # the call's AudioOut: an answer became playable
    for _ in range(5):
        await asyncio.sleep(0)
    assert waiting.done() and track.early_ticks == 1  # woken, not timed out (the wake is first)
    track.stop()


async def test_a_wake_between_two_ticks_is_not_lost():
    # The answer became playable while aiortc's sender was encoding the last tick's frame,
    # not while the track slept: the next recv runs at once all the same.
    script = Script([])
    track = AgentAudioTrack(script)
    await track.recv()
    await track.recv()  # on schedule: the sender now encodes it
    track.wake()
    started = asyncio.get_running_loop().time()
    await track.recv()
    assert asyncio.get_running_loop().time() - started < 0.010 and track.early_ticks == 1
    track.stop()


# -- the caller's audio -----------------------------------------------------------------------


def test_caller_audio_becomes_16k_20ms_frames_for_the_call():
    received: list[bytes] = []
    pump = CallerAudio(track=None, receive=received.append)  # type: ignore[arg-type]
    speech = tone(48000, 1000, hz=300)
    for i in range(0, len(speech), 1920):  # 20 ms decoded Opus frames
        pump.push(speech[i : i + 1920], 48000)
    assert all(len(frame) == 640 for frame in received)
    assert len(received) == 50  # one engine frame per decoded packet, at once
    assert pump.frames_out == len(received)
    assert rms(b"".join(received[5:])) == pytest.approx(0.3 * 32767 / 2**0.5, rel=0.05)


class EndingTrack:
    def __init__(self, frames: int) -> None:
        self.left = frames

    async def recv(self):
        if not self.left:
            raise MediaStreamError
        self.left -= 1
        return audio_frame(tone(48000, 20), 48000, 0)


async def test_the_caller_pump_reads_until_the_track_ends():
    received: list[bytes] = []
    pump = CallerAudio(EndingTrack(25), received.append)  # type: ignore[arg-type]
    await asyncio.wait_for(pump.run(), 5)
    assert pump.frames_in == 25 and len(received) >= 23
