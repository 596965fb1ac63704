"""The agent's voice to Twilio: mu-law media in batches, paced in real time, marks, and clear.

A ticker on an absolute schedule (tick n at start + n x 20 ms, so sleep jitter never adds up)
pulls `Call.next_frame()` once per tick; that pull is the engine's clock for its playout count.
Twilio plays what it is sent as it arrives and buffers the rest, so flooding it would put seconds
of audio out of reach of a barge-in.

The sender keeps Twilio's buffer between REFILL_BELOW_S and FILL_TO_S: frames pulled while the
buffer holds more wait here; once it falls under REFILL_BELOW_S they go out together, topped up
to FILL_TO_S, in one media message. So a talking agent costs ten messages a second, not fifty
(every message is a WebSocket frame, a JSON text and a base64 pass on both ends), and the
caller's playout rides out a stall of the worker's loop of up to REFILL_BELOW_S. A barge-in
loses nothing by the lead: `clear` drops whatever Twilio still buffers. The engine's frames wait
as PCM and are converted a batch at a time, when they go: numpy's fixed cost per call, not the
arithmetic, is most of what a 20 ms frame's resampling and mu-law encoding cost.

While the agent is quiet the ticker's sleep also ends when the engine has audio to play (the
answer released at the endpoint): that tick runs at once and the schedule restarts from it, so
the first audio of an answer leaves within the loop's own latency, not up to 20 ms later.

After every MARK_EVERY_FRAMES of audio, and where the agent goes quiet, a mark follows the
audio; Twilio's echoes say what the caller has heard (see marks.py). On barge-in the call
clears its own queue; the next tick sends `clear`, which drops what Twilio still buffers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from voxline.audio.frames import FRAME_MS
from voxline.protocols.twilio_media import clear_to_twilio, mark_to_twilio, media_to_twilio
from voxline.session.call import Call
from voxline.transports.twilio.audio import FRAME_BYTES, AgentAudio
from voxline.transports.twilio.marks import PlayoutMarks
from voxline.transports.wakeable_sleep import WakeableSleep

FRAME_S = FRAME_MS / 1000
# Twilio's buffer ahead of its playout: refilled when under the first, up to the second. The
# first absorbs network jitter and loop stalls; the difference is the batch (100 ms a message).
REFILL_BELOW_S = 0.08
FILL_TO_S = 0.18
# A mark every 200 ms of audio: how finely Twilio's echoes locate the playout position.
MARK_EVERY_FRAMES = 10
# Behind schedule by more than this (a stalled loop): restart the schedule rather than burst.
MAX_LATE_S = 0.2
_SLACK_S = 1e-4  # float sums of 20 ms steps land a hair short of a bound

Send = Callable[[str], Awaitable[None]]


class AgentSender:
    def __init__(self, call: Call, send: Send, stream_sid: str) -> None:
        self._call = call
        self._send = send
        self._sid = stream_sid
        self._audio = AgentAudio()
        self.marks = PlayoutMarks()
        self._clear_due = False
        self._buffered_until = 0.0  # loop time at which Twilio will have played all it was sent
        self._pending: list[bytes] = []  # engine frames pulled, not yet sent (Twilio is full)
        self._speaking = False
        self.frames_sent = 0
        self.messages_sent = 0  # media messages: one carries a batch of frames
        self.clears_sent = 0
        self.late_restarts = 0
        self.early_ticks = 0  # ticks run ahead of schedule because an answer became playable
        self._sleep = WakeableSleep()
        call.out.on_playable = self._sleep.wake

    def barge_in(self) -> None:
        """The call cleared its audio (caller speech over the agent): clear Twilio's too."""
        self._clear_due = True

    def acknowledged(self, name: str) -> str:
        """Twilio echoed mark `name`: "played", "flushed" (by a clear) or "unknown"."""
        return self.marks.echoed(name)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        tick = 0
        while True:
            delay = start + tick * FRAME_S - loop.time()
            if delay > 0:
                # Mid-answer the schedule rules; while quiet, a released answer ends the sleep.
                if self._speaking:
                    await asyncio.sleep(delay)
                elif await self._sleep.sleep(delay):
                    start = loop.time() - tick * FRAME_S  # this tick now, the next 20 ms on
                    self.early_ticks += 1
            elif delay < -MAX_LATE_S:
                start = loop.time() - tick * FRAME_S
                self.late_restarts += 1
            tick += 1
            await self.tick(loop.time())

    async def tick(self, now: float) -> None:
        """One 20 ms step at loop time `now` (public so tests can step it by hand)."""
        if self._clear_due:
            await self._clear(now)
        pcm = self._call.next_frame()  # exactly once a tick, audio or not: the engine's clock
        if pcm is not None:
            self._pending.append(pcm)
            if self._ahead_s(now) >= REFILL_BELOW_S - _SLACK_S:
                return  # Twilio holds enough: these frames wait for the next batch
            while self._ahead_s(now) + self._pending_s() < FILL_TO_S - _SLACK_S:
                pcm = self._call.next_frame()  # top Twilio's buffer up to FILL_TO_S
                if pcm is None:
                    break
                self._pending.append(pcm)
        elif self._speaking:
            # The agent went quiet (end of a reply, or TTS is behind): send the filter's tail
            # and mark the end, so Twilio's echo says when the caller heard the last of it.
            await self._send_pending(now, with_tail=True)
            await self._mark()
            self._speaking = False
            return
        await self._send_pending(now)

    def _ahead_s(self, now: float) -> float:
        """Audio sent to Twilio and not yet played."""
        return max(0.0, self._buffered_until - now)

    def _pending_s(self) -> float:
        return len(self._pending) * FRAME_S

    async def _send_pending(self, now: float, with_tail: bool = False) -> None:
        """Send the waiting frames as one media message; `with_tail` adds what the converter
        still holds (the agent went quiet)."""
        pcm, self._pending = b"".join(self._pending), []
        mulaw = self._audio.push(pcm) if pcm else b""
        if with_tail:
            mulaw += self._audio.flush()
        if not mulaw:
            return
        frames = len(mulaw) // FRAME_BYTES
        await self._send(media_to_twilio(self._sid, mulaw))
        self._buffered_until = max(self._buffered_until, now) + frames * FRAME_S
        self.frames_sent += frames
        self.messages_sent += 1
        self._speaking = True
        self.marks.audio_sent(frames)
        if self.marks.unmarked_ms >= MARK_EVERY_FRAMES * FRAME_MS:
            await self._mark()

    async def _mark(self) -> None:
        name = self.marks.mark()
        if name is not None:
            await self._send(mark_to_twilio(self._sid, name))

    async def _clear(self, now: float) -> None:
        self._clear_due = False
        await self._send(clear_to_twilio(self._sid))
        self.clears_sent += 1
        self.marks.cleared()
        self._audio = AgentAudio()  # the filter's history belongs to the audio just dropped
        self._pending = []
        self._buffered_until = now
        self._speaking = False

