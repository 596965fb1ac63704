"""The agent's voice as an aiortc audio track: 20 ms frames at 48 kHz, pulled from the call.

aiortc's sender awaits `recv()` in a loop and encodes whatever it returns at once, so the track
itself keeps time: frame n is due at start + n x 20 ms on an absolute schedule (no drift from
sleep jitter). Each tick pulls one 16 kHz frame from `Call.next_frame()` (silence when None), so
the call's playout counter advances exactly as the audio leaves: that count is the track
position barge-in truncation reads. Nothing here waits on the call; `recv` only sleeps, and
while the agent is quiet `wake` (the call's AudioOut.on_playable) ends that sleep: a released
answer goes out at once and the schedule restarts from that tick.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from voxline.audio.frames import ENGINE_RATE, FRAME_MS, FrameSplitter, silence
from voxline.audio.resample import StreamResampler
from voxline.transports.wakeable_sleep import WakeableSleep
from voxline.transports.webrtc.av_frames import audio_frame

OPUS_RATE = 48000
SAMPLES_48K = OPUS_RATE * FRAME_MS // 1000
# Behind schedule by more than this (a stalled loop), restart the schedule instead of bursting
# the backlog at the browser.
MAX_LATE_S = 0.2
# Agent audio that stops for this long counts as the agent having stopped talking.
SPEAKING_HANGOVER_TICKS = 15


class AgentAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(
        self,
        next_frame: Callable[[], bytes | None],
        on_speaking: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__()
        self._next_frame = next_frame
        self._on_speaking = on_speaking
        self._resampler = StreamResampler(ENGINE_RATE, OPUS_RATE)
        self._splitter = FrameSplitter(OPUS_RATE)
        self._ready: deque[bytes] = deque()  # 48 kHz frames resampled but not yet sent
        self._silence_16k = silence(ENGINE_RATE)
        self._silence_48k = silence(OPUS_RATE)
        self._start: float | None = None
        self._ticks = 0
        self._quiet = SPEAKING_HANGOVER_TICKS  # ticks since the last agent frame
        self._speaking = False
        self.agent_frames = 0  # 20 ms frames of agent audio sent: the track position
        self.late_restarts = 0
        self.early_ticks = 0  # ticks run ahead of schedule because an answer became playable
        self._sleep = WakeableSleep()

    def wake(self) -> None:
        """Agent audio became playable: while quiet, the next tick runs now."""
        self._sleep.wake()

    async def recv(self):  # -> av.AudioFrame
        if self.readyState != "live":
            raise MediaStreamError
        await self._wait_for_tick()
        pcm = self.next_pcm()
        frame = audio_frame(pcm, OPUS_RATE, self._ticks * SAMPLES_48K)
        self._ticks += 1
        return frame

    async def _wait_for_tick(self) -> None:
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
            return
        due = self._start + self._ticks * FRAME_MS / 1000
        delay = due - loop.time()
        if delay > 0:
            if self._quiet == 0:  # mid-answer the schedule rules
                await asyncio.sleep(delay)
            elif await self._sleep.sleep(delay):
                self._start = loop.time() - self._ticks * FRAME_MS / 1000
                self.early_ticks += 1
        elif delay < -MAX_LATE_S:
            self._start = loop.time() - self._ticks * FRAME_MS / 1000
            self.late_restarts += 1

    def next_pcm(self) -> bytes:
        """The next 20 ms of 48 kHz PCM16 for the wire (one tick; `recv` adds the pacing)."""
        agent = self._next_frame()
        if agent is None:
            self._quiet += 1
        else:
            self._quiet = 0
            self.agent_frames += 1
        self._track_speaking()
        # The resampler runs on every tick, silence included (~15 us): soxr hands its output
        # out in bursts of ~1.5 frames, and only a stream that never stops keeps a frame ready
        # at every tick. Restarted at each reply, it would leave a 20 ms hole after the first
        # frame of speech.
        pcm = self._resampler.process(agent if agent is not None else self._silence_16k)
        self._ready.extend(self._splitter.push(pcm))
        # Until the filter's delay has passed (the call's first tick or two) there is no
        # whole frame yet: the browser gets silence.
        return self._ready.popleft() if self._ready else self._silence_48k

    def _track_speaking(self) -> None:
        if self._quiet == 0 and not self._speaking:
            self._speaking = True
            self._notify(True)
        elif self._speaking and self._quiet >= SPEAKING_HANGOVER_TICKS:
            self._speaking = False
            self._notify(False)

    def _notify(self, speaking: bool) -> None:
        if self._on_speaking is not None:
            self._on_speaking(speaking)
