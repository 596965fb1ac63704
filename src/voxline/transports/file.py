"""The file transport: a scripted caller plays WAVs into a call and records what comes back.

Real-time pace by default: one 20 ms frame in and one out per tick, on an absolute schedule, so
the engine sees what it would see from a phone. After each utterance the caller keeps sending
silence until the agent has answered and gone quiet, pauses, then speaks the next one.

`fast=True` skips the pacing: audio time advances only when there is something to move, and
freezes while the agent thinks. Model latencies stay real; voice-to-voice is not measured.

Voice-to-voice is measured here, on the caller's side, from audio alone: the last sample of the
caller's utterance above the energy floor, to the first agent sample above it.

Memory stays flat however long the call: the agent's track is kept only when asked for (in
memory, or streamed to a WAV file as it is produced), and the event log keeps the newest
`EVENTS_KEPT` events.
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxline.audio.frames import ENGINE_RATE, FRAME_MS, frames_of, samples_per_frame, silence
from voxline.audio.wav import Audio
from voxline.session.call import Call, CallEvent

# Energy floor for "voiced" in the caller's and agent's audio: -40 dBFS over 5 ms windows.
ENERGY_FLOOR = 10 ** (-40 / 20) * 32768
WINDOW = ENGINE_RATE * 5 // 1000
# Call events kept for the result: a few per turn, so a one-hour call's ~5,000 fit.
EVENTS_KEPT = 20_000


class AgentTrack:
    """Where the agent's audio goes: kept in memory (`audio()`), streamed to a 16-bit mono WAV
    file as it arrives (`AgentTrack(path)`, nothing kept in memory), or dropped
    (`AgentTrack.discard()`)."""

    def __init__(self, path: Path | None = None, *, keep: bool = True) -> None:
        self.path = path
        self._frames: list[bytes] | None = [] if keep and path is None else None
        self._wav: wave.Wave_write | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - open for the whole call
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(ENGINE_RATE)

    @classmethod
    def discard(cls) -> AgentTrack:
        return cls(keep=False)

    def write(self, frame: bytes) -> None:
        if self._wav is not None:
            self._wav.writeframesraw(frame)
        elif self._frames is not None:
            self._frames.append(frame)

    def close(self) -> None:
        if self._wav is not None:
            self._wav.close()  # patches the header's sizes
            self._wav = None

    def audio(self) -> bytes:
        """The track, when it was kept in memory; b"" when streamed to a file or dropped."""
        return b"".join(self._frames) if self._frames is not None else b""


def _window_rms(pcm: bytes) -> np.ndarray:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    usable = len(samples) // WINDOW * WINDOW
    if usable == 0:
        return np.zeros(0, dtype=np.float32)
    return np.sqrt(np.mean(samples[:usable].reshape(-1, WINDOW) ** 2, axis=1))


def last_voiced_sample(pcm: bytes) -> int | None:
    """Index just past the last 5 ms window above the floor, or None for a silent buffer."""
    loud = np.nonzero(_window_rms(pcm) > ENERGY_FLOOR)[0]
    return None if len(loud) == 0 else int(loud[-1] + 1) * WINDOW


def first_voiced_sample(pcm: bytes) -> int | None:
    loud = np.nonzero(_window_rms(pcm) > ENERGY_FLOOR)[0]
    return None if len(loud) == 0 else int(loud[0]) * WINDOW


@dataclass
class UtteranceResult:
    index: int
    speech_detected: bool
    answered: bool
    voice_to_voice_ms: float | None = None
    turn_indexes: list[int] = field(default_factory=list)


@dataclass
class FileCallResult:
    agent_audio: bytes  # the agent's track on the call's timeline, silence included (if kept)
    utterances: list[UtteranceResult]
    events: list[tuple[int, str]]  # (tick, call event kind): tick n is agent frame n (newest)


class FileCaller:
    def __init__(
        self,
        call: Call,
        utterances: list[Audio],
        *,
        fast: bool = False,
        pause_ms: int = 800,
        reply_timeout_s: float = 30.0,
        barge_in_after_ms: dict[int, int] | None = None,
        agent_track: AgentTrack | None = None,
    ) -> None:
        """`barge_in_after_ms[i] = n`: utterance i starts n ms into the agent's answer to
        utterance i-1, talking over it, instead of waiting for the agent to finish.
        `agent_track`: where the agent's audio goes (default: kept in memory)."""
        for audio in utterances:
            if audio.rate != ENGINE_RATE:
                raise ValueError(f"caller audio must be {ENGINE_RATE} Hz, got {audio.rate}")
        self.call = call
        self.utterances = utterances
        self.fast = fast
        self.pause_ms = pause_ms
        self.reply_timeout_s = reply_timeout_s
        self.barge_in_after_ms = barge_in_after_ms or {}
        self._agent = agent_track if agent_track is not None else AgentTrack()
        self._silence = silence(ENGINE_RATE)
        self._speech_seen = False
        self._utterance = 0  # the utterance being played or answered
        self._endpoint_owner: int | None = None  # utterance whose endpoint came last
        self._turns: dict[int, list[int]] = {}  # utterance -> indexes of its turn records
        self._ticks = 0
        self._t0 = 0.0
        self._events: deque[tuple[int, str]] = deque(maxlen=EVENTS_KEPT)
        call.observe(self._on_event)

    def _on_event(self, event: CallEvent) -> None:
        self._events.append((self._ticks, event.kind))
        if event.kind == "speech_started":
            self._speech_seen = True
        elif event.kind == "endpoint":
            self._endpoint_owner = self._utterance
        elif event.kind == "turn" and self._endpoint_owner is not None:
            # A turn belongs to the utterance it answered, even when its record is written
            # later (an answer cut off by the next utterance).
            self._turns.setdefault(self._endpoint_owner, []).append(event.data["record"]["index"])

    @property
    def audio_ms(self) -> int:
        """Call time so far: 20 ms per tick."""
        return self._ticks * FRAME_MS

    async def run(self) -> FileCallResult:
        runner = asyncio.create_task(self.call.run())
        results = []
        self._t0 = time.monotonic()
        try:
            for index, audio in enumerate(self.utterances):
                interrupt_after = self.barge_in_after_ms.get(index + 1)
                results.append(await self._play_utterance(index, audio, interrupt_after))
                if interrupt_after is None:
                    await self._idle(self.pause_ms)
        finally:
            self.call.hang_up()
            try:
                await runner
            finally:
                self._agent.close()
        return FileCallResult(self._agent.audio(), results, list(self._events))

    async def _tick(self, frame: bytes) -> tuple[float, bytes | None]:
        """Send one frame, take one frame; returns the tick's time and the agent frame."""
        if not self.fast:
            delay = self._t0 + self._ticks * FRAME_MS / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)
        now = time.monotonic()
        self._ticks += 1
        self.call.receive(frame)
        out = self.call.next_frame()
        self._agent.write(out if out is not None else self._silence)
        return now, out

    async def _idle(self, ms: int) -> None:
        for _ in range(ms // FRAME_MS):
            await self._tick(self._silence)

    async def _play_utterance(
        self, index: int, audio: Audio, interrupt_after_ms: int | None
    ) -> UtteranceResult:
        self._speech_seen = False
        self._utterance = index
        end = last_voiced_sample(audio.pcm)
        frame_len = samples_per_frame(ENGINE_RATE)
        last_voiced_at: float | None = None
        for n, frame in enumerate(frames_of(audio.pcm, ENGINE_RATE)):
            now, _ = await self._tick(frame)
            if end is not None and n * frame_len < end <= (n + 1) * frame_len:
                last_voiced_at = now + (end - n * frame_len) / ENGINE_RATE
        result = UtteranceResult(index=index, speech_detected=False, answered=False)
        v2v = await self._await_reply(index, last_voiced_at, interrupt_after_ms)
        result.speech_detected = self._speech_seen
        result.turn_indexes = self._turns.setdefault(index, [])
        result.answered = v2v is not None or bool(result.turn_indexes)
        result.voice_to_voice_ms = None if self.fast else v2v
        return result

    async def _await_reply(
        self, index: int, last_voiced_at: float | None, interrupt_after_ms: int | None
    ) -> float | None:
        """Send silence until the agent has answered and gone quiet (or, to barge in, until it
        has spoken for `interrupt_after_ms`); return voice-to-voice."""
        endpoint_window = self.call.settings.endpointing.trailing_silence_ms / 1000
        started = time.monotonic()
        quiet_since_audio_ticks = 0
        first_audio_at: float | None = None
        agent_ticks = 0
        while time.monotonic() - started < self.reply_timeout_s:
            if self.fast and self.call.busy and not self.call.out.speaking:
                await asyncio.sleep(0.002)  # the agent is thinking: audio time stands still
                continue
            now, out = await self._tick(self._silence)
            if out is not None and first_audio_at is None:
                offset = first_voiced_sample(out)
                if offset is not None:
                    first_audio_at = now + offset / ENGINE_RATE
            agent_ticks += out is not None
            if interrupt_after_ms is not None and agent_ticks * FRAME_MS >= interrupt_after_ms:
                break
            done = bool(self._turns.get(index)) and not self.call.busy
            quiet_since_audio_ticks = 0 if out is not None else quiet_since_audio_ticks + 1
            if done and quiet_since_audio_ticks > 1:
                break
            waited = time.monotonic() - started
            if not self._speech_seen and not self.call.busy and waited > endpoint_window + 0.5:
                break  # nothing was heard in this utterance: no turn will come
        if first_audio_at is None or last_voiced_at is None:
            return None
        return round((first_audio_at - last_voiced_at) * 1000, 1)
