"""The caller's voice from the browser into the turn engine: 48 kHz Opus -> 16 kHz 20 ms frames.

A decoded 20 ms packet at 48 kHz becomes one 20 ms engine frame at once (audio/third_band.py:
a fixed 3:1 FIR, ~1 ms of delay); soxr's stream resampler, which released each frame one or
two packets late, is kept only for a decoder that hands over another rate. So engine frame n
is the caller's packet n, which is what lets a client time the endpoint from the packet that
completed it.

aiortc's receiver queues every decoded frame without bound, so the pump must keep reading for
as long as the track lives; `Call.receive` never blocks (it drops and counts the oldest frame
when the engine falls a second behind), so this loop never waits on the models.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from voxline.audio.frames import ENGINE_RATE, FrameSplitter
from voxline.audio.resample import StreamResampler
from voxline.audio.third_band import RATIO, Downsampler3x
from voxline.transports.webrtc.av_frames import mono_pcm16


class CallerAudio:
    def __init__(self, track: MediaStreamTrack, receive: Callable[[bytes], None]) -> None:
        self._track = track
        self._receive = receive
        self._resampler: StreamResampler | Downsampler3x | None = None
        self._rate: int | None = None
        self._splitter = FrameSplitter(ENGINE_RATE)
        self.frames_in = 0  # decoded frames from the browser
        self.frames_out = 0  # 20 ms engine frames handed to the call

    async def run(self) -> None:
        """Pump until the browser's track ends (hang-up, closed tab, peer connection closed)."""
        while True:
            try:
                frame = await self._track.recv()
            except MediaStreamError:
                return
            self.frames_in += 1
            self.push(mono_pcm16(frame), frame.sample_rate)

    def push(self, pcm16: bytes, rate: int) -> None:
        """Resample one decoded chunk and hand every complete 20 ms frame to the call."""
        if self._resampler is None or self._rate != rate:
            self._rate = rate
            self._resampler = (Downsampler3x() if rate == RATIO * ENGINE_RATE
                               else StreamResampler(rate, ENGINE_RATE))
        for frame in self._splitter.push(self._resampler.process(pcm16)):
            self.frames_out += 1
            self._receive(frame)
