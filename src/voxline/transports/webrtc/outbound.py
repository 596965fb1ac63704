"""The agent's voice as an aiortc audio track: 20 ms frames at 48 kHz, pulled from the call.

aiortc's sender awaits `recv()` in a loop and encodes whatever it returns at once, so the track
itself keeps time: frame n is due at start + n x 20 ms on an absolute schedule (no drift from
sleep jitter). Each tick pulls one 16 kHz frame from `Call.next_frame()` (silence when None), so
the call's playout counter advances exactly as the audio leaves: that count is the track
position barge-in truncation reads. Nothing here waits on the call; `recv` only sleeps, and
while the agent is quiet `wake` (the call's AudioOut.on_playable) ends that sleep: a released
answer goes out at once and the schedule restarts from that tick.

Each 16 kHz frame becomes one 48 kHz frame in the same tick (audio/third_band.py, ~1 ms of
filter delay). soxr's stream resampler, used before, released its output in bursts of ~1.5
frames, so an answer's first frame left one or two ticks (20-40 ms) after it was pulled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from voxline.audio.frames import ENGINE_RATE, FRAME_MS, silence
from voxline.audio.third_band import RATIO, Upsampler3x
from voxline.transports.wakeable_sleep import WakeableSleep
from voxline.transports.webrtc.av_frames import audio_frame

OPUS_RATE = RATIO * ENGINE_RATE  # 48000
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
        self._upsampler = Upsampler3x()
        self._silence_16k = silence(ENGINE_RATE)
        self._silence_48k = silence(OPUS_RATE)
        self._ringing = False  # the filter still holds agent audio: silence must run through it
        self._start: float | None = None
        self._ticks = 0
        self._quiet = SPEAKING_HANGOVER_TICKS  # ticks since the last agent frame
        self._speaking = False
        self.agent_frames = 0  # 20 ms frames of agent audio sent: the track position
        self.late_restarts = 0
        self.early_ticks = 0  # ticks run ahead of schedule because an answer became playable
        self._sleep = WakeableSleep()
        # Audio became playable after the last pull: kept, because a wake that comes while
        # aiortc's sender is encoding or sending (not inside `recv`'s sleep) would otherwise
        # be lost and the answer would wait for the next tick (seen: 18 ms on half the turns).
        self._woken = False

    def wake(self) -> None:
        """Agent audio became playable: while quiet, the next tick runs now."""
        self._woken = True
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
            elif self._woken or await self._sleep.sleep(delay):
                self._start = loop.time() - self._ticks * FRAME_MS / 1000
                self.early_ticks += 1
        elif delay < -MAX_LATE_S:
            self._start = loop.time() - self._ticks * FRAME_MS / 1000
            self.late_restarts += 1

    def next_pcm(self) -> bytes:
        """The next 20 ms of 48 kHz PCM16 for the wire (one tick; `recv` adds the pacing)."""
        self._woken = False  # this pull sees whatever became playable
        agent = self._next_frame()
        if agent is None:
            self._quiet += 1
        else:
            self._quiet = 0
            self.agent_frames += 1
        self._track_speaking()
        if agent is None and not self._ringing:
            return self._silence_48k  # the filter's history is all zeros: so is its output
        # Silence after speech still runs through the filter for one frame: its history
        # (31 samples) holds the answer's last ~2 ms, which must leave, then go quiet.
        self._ringing = agent is not None
        return self._upsampler.process(agent if agent is not None else self._silence_16k)

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
