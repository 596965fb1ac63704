"""What one scripted call measured, per turn and for the whole call; `to_dict()` is the JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class TurnResult:
    index: int
    wav: str
    # ms from the call's media start (the caller's first 20 ms tick)
    spoke_at_ms: float | None  # the caller's first voiced sample sent
    voice_ended_at_ms: float | None  # the caller's last voiced sample sent
    answer_started_at_ms: float | None  # first voiced agent sample received after that
    voice_to_voice_ms: float | None  # voice_ended -> answer_started; None: no answer in time
    barge_in_after_ms: int | None = None  # as scripted: talk over the previous answer
    barge_in_stop_ms: float | None = None  # this turn's first voiced sample -> agent audio stops
    note: str | None = None  # why a figure is missing
    last_voiced_frame: int | None = None  # the caller frame (0: the call's first) that held it

    @property
    def answered(self) -> bool:
        return self.voice_to_voice_ms is not None


@dataclass
class CallResult:
    transport: str
    target: str
    setup_ms: float | None  # dialling -> media can flow (see docs/caller.md per transport)
    ended_by: str  # caller | server | timeout | error
    duration_ms: float
    turns: list[TurnResult] = field(default_factory=list)
    gaps: int = 0  # underruns of the caller's 40 ms playout buffer mid-talkspurt
    underrun_ms: int = 0
    sequence_gaps: int = 0  # RTP / WebRTC packets that never arrived
    frames_sent: int = 0
    frames_received: int = 0
    recordings: dict[str, str] = field(default_factory=dict)  # name -> WAV path
    error: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        for turn, raw in zip(self.turns, out["turns"]):
            raw["answered"] = turn.answered
        return out
