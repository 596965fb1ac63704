"""The call clock: the one place where time is read.

Every event of a turn is stamped here with `time.monotonic_ns()`; latencies are computed from
these stamps in `session/latency.py` and nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class Mark(StrEnum):
    """Events of one turn, in the order they normally happen."""

    SPEECH_START = "speech_start"  # first voiced audio of the caller (back-dated)
    SPEECH_END = "speech_end"  # last voiced audio of the caller (back-dated)
    STT_REQUEST = "stt_request"  # transcription asked for (speculatively, at silence start)
    ENDPOINT = "endpoint"  # endpoint decision
    STT_FINAL = "stt_final"  # final transcript available
    LLM_REQUEST = "llm_request"
    LLM_FIRST_TOKEN = "llm_first_token"
    LLM_DONE = "llm_done"  # the first LLM request's stream ended (tool rounds may follow)
    FIRST_CLAUSE = "first_clause"  # first clause complete in the chunker
    TTS_REQUEST = "tts_request"  # first text sent to TTS
    TTS_FIRST_CHUNK = "tts_first_chunk"
    TTS_DONE = "tts_done"  # the turn's last TTS chunk was handed to playout
    FIRST_AUDIO_OUT = "first_audio_out"  # first agent frame handed to the transport
    LAST_AUDIO_OUT = "last_audio_out"
    BARGE_IN_DETECTED = "barge_in_detected"  # caller speech confirmed over agent audio
    BARGE_IN_STOPPED = "barge_in_stopped"  # agent audio no longer handed to the transport


class CallClock:
    def __init__(self, now_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self._now_ns = now_ns
        self.started_ns = now_ns()

    def now_ns(self) -> int:
        return self._now_ns()

    def turn(self) -> "TurnStamps":
        return TurnStamps(self)


class TurnStamps:
    """The stamps of one turn. The first stamp of an event wins: later ones are ignored."""

    def __init__(self, clock: CallClock) -> None:
        self.clock = clock
        self._stamps: dict[Mark, int] = {}

    def stamp(self, mark: Mark, at_ns: int | None = None) -> int:
        if mark not in self._stamps:
            self._stamps[mark] = self.clock.now_ns() if at_ns is None else at_ns
        return self._stamps[mark]

    def has(self, mark: Mark) -> bool:
        return mark in self._stamps

    def get(self, mark: Mark) -> int | None:
        return self._stamps.get(mark)

    def as_dict(self) -> dict[str, int]:
        return {mark.value: ns for mark, ns in self._stamps.items()}
