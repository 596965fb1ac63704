"""A whole call from WAV files, through the file transport: what `voxline talk` runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxline.audio.frames import ENGINE_RATE
from voxline.audio.wav import Audio, read_wav, write_wav
from voxline.config import Settings
from voxline.providers.registry import Providers
from voxline.session.call import Call
from voxline.session.record import TurnRecord
from voxline.transports.file import AgentTrack, FileCaller, UtteranceResult


@dataclass
class TalkResult:
    call_id: str
    records: list[TurnRecord]
    utterances: list[UtteranceResult]
    agent_audio: bytes  # b"" when streamed to `recorded_to`, or not kept
    wavs: list[str]
    events: list[tuple[int, str]]  # (tick, call event kind), from the file caller
    recorded_to: Path | None = None  # the agent's track, written while the call ran

    def report(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "transport": "file",
            "caller_wavs": self.wavs,
            "utterances": [u.__dict__ for u in self.utterances],
            "turns": [r.to_dict() for r in self.records],
        }


def load_caller_wavs(paths: list[str | Path]) -> list[Audio]:
    """Read every caller WAV (any rate, any channels) as 16 kHz mono; raises WavError."""
    return [read_wav(path, ENGINE_RATE) for path in paths]


async def talk(
    providers: Providers,
    settings: Settings,
    wavs: list[str | Path],
    *,
    fast: bool = False,
    pause_ms: int = 800,
    call: Call | None = None,
    barge_in_after_ms: dict[int, int] | None = None,
    record_to: Path | None = None,
    keep_agent_audio: bool = True,
) -> TalkResult:
    """`record_to` streams the agent's track to that WAV file as the call runs (nothing kept in
    memory); otherwise it is kept in memory unless `keep_agent_audio` is False."""
    audio = load_caller_wavs(wavs)
    call = call or Call(providers, settings, transport="file")
    track = AgentTrack(record_to, keep=keep_agent_audio)
    caller = FileCaller(
        call, audio, fast=fast, pause_ms=pause_ms, barge_in_after_ms=barge_in_after_ms,
        agent_track=track,
    )
    result = await caller.run()
    # The caller measured voice-to-voice from audio; attach it to the turn that answered.
    by_index = {record.index: record for record in call.records}
    for utterance in result.utterances:
        answered = [by_index[i] for i in utterance.turn_indexes if i in by_index]
        spoken = [r for r in answered if r.latency.get("turn_latency_ms") is not None]
        if spoken and utterance.voice_to_voice_ms is not None:
            spoken[0].voice_to_voice_ms = utterance.voice_to_voice_ms
    return TalkResult(
        call_id=call.call_id,
        records=call.records,
        utterances=result.utterances,
        agent_audio=result.agent_audio,
        wavs=[str(w) for w in wavs],
        events=result.events,
        recorded_to=record_to,
    )


def write_outputs(result: TalkResult, out: Path | None, report: Path | None) -> None:
    if out is not None and out != result.recorded_to:
        write_wav(out, result.agent_audio, ENGINE_RATE)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.report(), indent=2, ensure_ascii=False))
