"""Endpointing: turn per-frame speech probabilities into turn events. Pure: no clock, no asyncio.

Positions are audio milliseconds from the start of the stream, counted by frames fed: frame ``i``
spans ``[i*F, (i+1)*F)`` with ``F = frame_ms``, and after ``n`` frames ``position_ms == n*F``.

States: QUIET (no speech), PENDING (a voiced run shorter than ``min_speech_ms``), SPEAKING
(confirmed speech, last frame voiced), TRAILING (confirmed speech, now in a non-voiced run).

Rules:

1. Every call to ``process`` consumes exactly one frame and advances ``position_ms`` by F.
2. A frame is *voiced* if ``p >= threshold``, or if the previous frame was voiced and
   ``p >= neg_threshold`` (hysteresis). NaN is never voiced.
3. QUIET + voiced frame: remember the frame's start as the run start and go to PENDING; then
   apply rule 4 (so ``min_speech_ms == F`` confirms speech on the first voiced frame).
4. PENDING + voiced frame: once the run has lasted ``min_speech_ms`` (position - run start),
   emit ``SpeechStarted(start_ms=run start)`` (back-dated to the run's first voiced frame) and
   go to SPEAKING. This is the barge-in trigger.
5. PENDING + non-voiced frame: the run was a blip; forget it, go to QUIET, emit nothing.
6. SPEAKING + voiced frame: stay; the end of speech so far is this frame's end.
7. SPEAKING + non-voiced frame: emit ``SilenceStarted(speech_end_ms)``, where speech_end_ms is
   the end of the last voiced frame (= this frame's start); go to TRAILING. Speculative STT
   finalisation may start here.
8. TRAILING + voiced frame: emit ``SpeechResumed(at_ms=this frame's start)`` and go to SPEAKING;
   anything computed speculatively since rule 7 must be discarded. No minimum length applies:
   the caller is still in their turn.
9. TRAILING + non-voiced frame: once ``position_ms - speech_end_ms >= trailing_silence_ms``,
   emit ``Endpoint(speech_end_ms, decided_ms=position_ms, speech_start_ms)`` and go to QUIET.
   ``speech_end_ms`` is back-dated to the end of the last voiced frame; ``speech_start_ms`` is
   the ``start_ms`` of the turn's SpeechStarted. ``decided_ms - speech_end_ms`` is the
   endpointer's share of ``endpoint_delay_ms`` (the VAD's own lag comes on top).
10. ``in_speech`` is True in SPEAKING and TRAILING, i.e. between SpeechStarted and Endpoint.
11. ``reset()`` returns to QUIET at position 0 and forgets the hysteresis.
12. ``shorten()`` in TRAILING (the words so far read as a finished turn): this silence ends the
    turn after ``complete_silence_ms`` instead of ``trailing_silence_ms`` (whichever is
    smaller). If that much silence has already passed, it returns the ``Endpoint`` at once,
    decided at the current position; otherwise rule 9 applies with the shorter window. Outside
    TRAILING it does nothing and returns no events. The shorter window is forgotten on
    SpeechResumed, Endpoint and reset: every pause is judged afresh.

The default ``trailing_silence_ms`` is chosen by ``python -m voxline.bench.endpointing``
(see docs/endpointing.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from voxline.errors import ConfigError


@dataclass(frozen=True)
class EndpointingConfig:
    threshold: float = 0.5  # a frame becomes voiced at p >= threshold
    neg_threshold: float = 0.35  # ... and stays voiced while p >= neg_threshold
    min_speech_ms: int = 200  # shorter voiced runs are blips (coughs, clicks)
    # Chosen by bench/endpointing.py: smallest window cutting <= 5% of paused utterances (Silero).
    trailing_silence_ms: int = 900
    # Window after words that read as a finished turn (rule 12; vad/completeness.py judges).
    complete_silence_ms: int = 500
    frame_ms: int = 20

    def __post_init__(self) -> None:
        if not (isinstance(self.frame_ms, int) and self.frame_ms > 0):
            raise ConfigError(f"frame_ms must be a positive integer, got {self.frame_ms!r}")
        if not (0.0 < self.threshold <= 1.0):
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold!r}")
        if not (0.0 < self.neg_threshold <= self.threshold):
            raise ConfigError(
                f"neg_threshold must be in (0, threshold={self.threshold}], "
                f"got {self.neg_threshold!r}"
            )
        for name in ("min_speech_ms", "trailing_silence_ms", "complete_silence_ms"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be a positive number of ms, got {value!r}")
            # Decisions happen on frame boundaries: round to whole frames, at least one.
            frames = max(1, round(value / self.frame_ms))
            object.__setattr__(self, name, frames * self.frame_ms)


@dataclass(frozen=True)
class SpeechStarted:
    start_ms: int  # start of the first voiced frame of the confirmed run


@dataclass(frozen=True)
class SilenceStarted:
    speech_end_ms: int  # end of the last voiced frame


@dataclass(frozen=True)
class SpeechResumed:
    at_ms: int  # start of the voiced frame that ended the silence


@dataclass(frozen=True)
class Endpoint:
    speech_end_ms: int  # end of the last voiced frame of the turn
    decided_ms: int  # position at which trailing_silence_ms had elapsed
    speech_start_ms: int  # start_ms of the turn's SpeechStarted


EndpointEvent = SpeechStarted | SilenceStarted | SpeechResumed | Endpoint


class _State(Enum):
    QUIET = "quiet"
    PENDING = "pending"
    SPEAKING = "speaking"
    TRAILING = "trailing"


class Endpointer:
    """Feed one speech probability per frame; get the turn events that frame caused."""

    def __init__(self, config: EndpointingConfig | None = None) -> None:
        self.config = config if config is not None else EndpointingConfig()
        self.reset()

    def reset(self) -> None:
        self._state = _State.QUIET
        self._frames = 0
        self._voiced = False  # hysteresis memory: was the previous frame voiced?
        self._run_start = 0  # PENDING: start of the voiced run
        self._turn_start = 0  # SPEAKING/TRAILING: start_ms of SpeechStarted
        self._speech_end = 0  # SPEAKING/TRAILING: end of the last voiced frame
        self._window = self.config.trailing_silence_ms  # this silence's window (rule 12)

    @property
    def position_ms(self) -> int:
        return self._frames * self.config.frame_ms

    @property
    def in_speech(self) -> bool:
        return self._state in (_State.SPEAKING, _State.TRAILING)

    @property
    def shortened(self) -> bool:
        """True while the current silence runs on the shorter window of rule 12."""
        return self._window < self.config.trailing_silence_ms

    def shorten(self) -> list[EndpointEvent]:
        """The words so far read as a finished turn: end this silence sooner (rule 12)."""
        if self._state is not _State.TRAILING:
            return []
        cfg = self.config
        self._window = min(cfg.complete_silence_ms, cfg.trailing_silence_ms)
        if self.position_ms - self._speech_end >= self._window:
            return [self._endpoint()]
        return []

    def _endpoint(self) -> Endpoint:
        self._state = _State.QUIET
        self._window = self.config.trailing_silence_ms
        return Endpoint(self._speech_end, self.position_ms, self._turn_start)

    def process(self, probability: float) -> list[EndpointEvent]:
        cfg = self.config
        frame_start = self._frames * cfg.frame_ms
        self._frames += 1
        now = self._frames * cfg.frame_ms
        limit = cfg.neg_threshold if self._voiced else cfg.threshold
        voiced = probability >= limit  # rule 2 (False for NaN)
        self._voiced = voiced

        state = self._state
        if voiced:
            if state is _State.QUIET:  # rule 3
                self._run_start = frame_start
                state = self._state = _State.PENDING
            if state is _State.PENDING:  # rule 4
                if now - self._run_start >= cfg.min_speech_ms:
                    self._state = _State.SPEAKING
                    self._turn_start = self._run_start
                    self._speech_end = now
                    return [SpeechStarted(self._run_start)]
                return []
            self._speech_end = now
            if state is _State.TRAILING:  # rule 8
                self._state = _State.SPEAKING
                self._window = cfg.trailing_silence_ms
                return [SpeechResumed(frame_start)]
            return []  # rule 6

        if state is _State.PENDING:  # rule 5
            self._state = _State.QUIET
            return []
        if state is _State.SPEAKING:  # rule 7
            self._state = _State.TRAILING
            events: list[EndpointEvent] = [SilenceStarted(self._speech_end)]
        elif state is _State.TRAILING:
            events = []
        else:
            return []
        if now - self._speech_end >= self._window:  # rule 9 (rule 12's window if shortened)
            events.append(self._endpoint())
        return events
