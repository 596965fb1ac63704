"""What a benchmark scenario file says, and the errors a bad one gets.

    name = "twilio-sweep"
    transport = "twilio"          # twilio | webrtc | sip
    profile = "cloud-sim"         # cloud-sim | local
    calls = [1, 10, 25, 50, 100]  # one number, or a sweep: one run per number
    caller_processes = 2          # callers are spread over this many processes
    ramp_s = 10.0                 # calls start evenly spread over this long
    duration_s = 30.0             # each call repeats its script until this long has passed

    [script]
    lines = ["hours", "whitening"]  # demo caller lines (voxline.demo) or WAV paths
    pause_s = 1.0                   # the caller's pause after an answer ends

    [worker]
    vad = "webrtc"
    endpoint_ms = 600
    event_loop = "uvloop"

    [provider_ms]                   # cloud-sim: the fixed delays the servers inject
    stt_final = 100
    llm_first_token = 200
    tts_first_chunk = 80
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from voxline.demo import CALLER_LINES
from voxline.errors import VoxlineError

LINE_NAMES = tuple(line.name for line in CALLER_LINES)


class ScenarioError(VoxlineError):
    """A scenario file that cannot be run as written; the message says what to change."""


class ScriptSettings(BaseModel):
    model_config = {"extra": "forbid"}
    lines: list[str] = Field(min_length=1)
    pause_s: float = Field(default=1.0, ge=0)
    answer_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("lines")
    @classmethod
    def _known_lines(cls, lines: list[str]) -> list[str]:
        for line in lines:
            if line not in LINE_NAMES and not line.endswith(".wav"):
                raise ValueError(
                    f"{line!r} is neither a demo caller line ({', '.join(LINE_NAMES)}) "
                    "nor a path to a .wav file"
                )
        return lines


class WorkerSettings(BaseModel):
    """How the `voxline serve` worker is configured for the run."""

    model_config = {"extra": "forbid"}
    vad: Literal["webrtc", "silero"] = "webrtc"
    endpoint_ms: int = Field(default=600, ge=100, le=3000)
    records: bool = True  # the worker's call records give the server-side components
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"
    # Extra VOXLINE_* environment for the worker, e.g. {"VOXLINE_TWILIO__MAX_CALLS" = "200"}.
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("env")
    @classmethod
    def _voxline_only(cls, env: dict[str, str]) -> dict[str, str]:
        for key in env:
            if not key.startswith("VOXLINE_"):
                raise ValueError(f"worker.env key {key!r}: only VOXLINE_* settings are passed")
        return env


class ProviderDelays(BaseModel):
    """The fixed delays the cloud-sim servers inject (the caller-side overhead subtracts what
    of them stays on the critical path)."""

    model_config = {"extra": "forbid"}
    stt_final: float = Field(default=100.0, ge=0)
    llm_first_token: float = Field(default=200.0, ge=0)
    tts_first_chunk: float = Field(default=80.0, ge=0)


class Scenario(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1)
    transport: Literal["twilio", "webrtc", "sip"]
    profile: Literal["cloud-sim", "local"] = "cloud-sim"
    calls: list[int]
    caller_processes: int = Field(default=1, ge=1, le=32)
    ramp_s: float = Field(default=0.0, ge=0)
    duration_s: float = Field(default=20.0, gt=0)
    warmup: bool = True  # one call before each run: fills the TTS server's cache
    settle_s: float = Field(default=2.0, ge=0)  # idle worker sampled this long before calls
    script: ScriptSettings
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    provider_ms: ProviderDelays = Field(default_factory=ProviderDelays)

    @field_validator("calls", mode="before")
    @classmethod
    def _one_or_sweep(cls, value: object) -> object:
        return [value] if isinstance(value, int) else value

    @field_validator("calls")
    @classmethod
    def _positive(cls, calls: list[int]) -> list[int]:
        if not calls:
            raise ValueError("give at least one number of concurrent calls")
        if any(n < 1 for n in calls):
            raise ValueError(f"numbers of calls must be at least 1, got {calls}")
        return calls

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        self.caller_processes = min(self.caller_processes, max(self.calls))  # no idle caller processes
        return self

    @property
    def is_sweep(self) -> bool:
        return len(self.calls) > 1


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; every problem is a ScenarioError naming the file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read it ({err.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None
    data.setdefault("name", path.stem)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in err.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from None
    base = path.parent
    for line in scenario.script.lines:
        if line.endswith(".wav") and not (base / line).exists() and not Path(line).exists():
            raise ScenarioError(f"{path}: script line {line!r}: no such WAV file")
    return scenario
