"""A call script: the caller's turns in order, each a WAV and when to say it.

    # script.toml (WAV paths are relative to this file)
    answer_quiet_ms = 1000      # agent silence that counts as "finished answering"
    seed = 7                    # the random human gaps repeat from run to run
    [[turn]]
    wav = "hours.wav"
    [[turn]]
    wav = "book.wav"
    pause_ms = 500              # fixed gap after the answer instead of a random 400-800 ms
    [[turn]]
    wav = "stop.wav"
    barge_in_after_ms = 800     # talk over the answer, 800 ms after it started arriving

Every WAV is read and checked when the script is loaded, before any call is placed.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from voxline.audio.wav import Audio, read_wav
from voxline.bench.caller.energy import voiced_span
from voxline.bench.caller.errors import ScriptError
from voxline.errors import WavError

HUMAN_GAP_MS = (400, 800)  # a person's pause after an answer ends, before talking again
DEFAULT_ANSWER_QUIET_MS = 1000
DEFAULT_REPLY_TIMEOUT_S = 30.0
_SCRIPT_KEYS = {"answer_quiet_ms", "reply_timeout_s", "seed", "turn"}
_TURN_KEYS = {"wav", "pause_ms", "barge_in_after_ms"}


@dataclass(frozen=True)
class ScriptTurn:
    wav: Path
    pause_ms: int | None = None  # gap after the agent finished; None: a random human gap
    barge_in_after_ms: int | None = None  # talk over the answer this long after it started

    def __post_init__(self) -> None:
        if self.pause_ms is not None and self.pause_ms < 0:
            raise ScriptError(f"{self.wav}: pause_ms must be 0 or more, got {self.pause_ms}")
        if self.barge_in_after_ms is not None and self.barge_in_after_ms < 0:
            raise ScriptError(
                f"{self.wav}: barge_in_after_ms must be 0 or more, got {self.barge_in_after_ms}"
            )


@dataclass
class Script:
    turns: list[ScriptTurn]
    answer_quiet_ms: int = DEFAULT_ANSWER_QUIET_MS
    reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_S  # per turn: no answer by then, go on
    seed: int = 0
    _audio: dict[tuple[Path, int], Audio] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.turns:
            raise ScriptError("the script has no turns: give at least one caller WAV")
        if self.turns[0].barge_in_after_ms is not None:
            raise ScriptError("the first turn cannot barge in: there is no answer to talk over")
        if self.answer_quiet_ms < 100:
            raise ScriptError(f"answer_quiet_ms must be at least 100, got {self.answer_quiet_ms}")
        for turn in self.turns:
            self.audio(turn, 8000)  # read and check every WAV now, not mid-call

    @classmethod
    def from_wavs(cls, wavs: list[str | Path], **options) -> Script:
        return cls([ScriptTurn(Path(w)) for w in wavs], **options)

    @classmethod
    def from_toml(cls, path: str | Path) -> Script:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as err:
            raise ScriptError(f"cannot read the script {path}: {err.strerror or err}") from err
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ScriptError(f"{path} is not valid TOML: {err}") from err
        unknown = set(data) - _SCRIPT_KEYS
        if unknown:
            raise ScriptError(f"{path}: unknown keys {sorted(unknown)}; allowed: "
                              f"{sorted(_SCRIPT_KEYS)}")
        raw_turns = data.get("turn", [])
        if not isinstance(raw_turns, list) or not raw_turns:
            raise ScriptError(f"{path}: no [[turn]] tables; each turn needs wav = \"file.wav\"")
        turns = [_turn(path, n, raw) for n, raw in enumerate(raw_turns, 1)]
        options = {k: data[k] for k in ("answer_quiet_ms", "reply_timeout_s", "seed") if k in data}
        for key, value in options.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ScriptError(f"{path}: {key} must be a number, got {value!r}")
        return cls(turns, **options)

    @classmethod
    def load(cls, sources: list[str | Path]) -> Script:
        """One .toml script, or WAVs played in order (the command line's two forms)."""
        if len(sources) == 1 and str(sources[0]).endswith(".toml"):
            return cls.from_toml(sources[0])
        return cls.from_wavs(sources)

    def audio(self, turn: ScriptTurn, rate: int) -> Audio:
        """The turn's WAV as mono PCM16 at `rate`; checked to hold speech."""
        key = (turn.wav, rate)
        if key not in self._audio:
            try:
                audio = read_wav(turn.wav, rate)
            except WavError as err:
                raise ScriptError(str(err)) from err
            if voiced_span(audio.pcm, rate) is None:
                raise ScriptError(f"{turn.wav} is silent (nothing above -40 dBFS): a caller turn "
                                  "needs speech to time the answer from")
            self._audio[key] = audio
        return self._audio[key]

    def gaps_ms(self) -> list[int]:
        """The pause before each turn, once the agent has finished: fixed where the turn says,
        else a human gap drawn from `seed` (so a rerun pauses the same)."""
        draw = random.Random(self.seed)
        return [t.pause_ms if t.pause_ms is not None else draw.randint(*HUMAN_GAP_MS)
                for t in self.turns]


def _turn(path: Path, number: int, raw: object) -> ScriptTurn:
    if not isinstance(raw, dict):
        raise ScriptError(f"{path}: turn {number} is not a table")
    unknown = set(raw) - _TURN_KEYS
    if unknown:
        raise ScriptError(f"{path}: turn {number} has unknown keys {sorted(unknown)}; "
                          f"allowed: {sorted(_TURN_KEYS)}")
    wav = raw.get("wav")
    if not isinstance(wav, str) or not wav:
        raise ScriptError(f"{path}: turn {number} needs wav = \"file.wav\"")
    for key in ("pause_ms", "barge_in_after_ms"):
        if key in raw and (not isinstance(raw[key], int) or isinstance(raw[key], bool)):
            raise ScriptError(f"{path}: turn {number}: {key} must be a whole number of ms")
    wav_path = Path(wav) if Path(wav).is_absolute() else path.parent / wav
    return ScriptTurn(wav_path, raw.get("pause_ms"), raw.get("barge_in_after_ms"))
