"""The clinic demo: what the scripted caller says, synthesized with the local voice at set-up.

The voice is synthesized without its sampling noise, so every machine gets the same samples
and a transcript that passes once passes always; each line's wording was checked to come
through whisper tiny.en intact at 16 kHz and over G.711.

Each line carries the key words an answer must have been heard for (used by tests and the
benchmark to check the transcript, not the model's wording).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxline.audio.resample import resample
from voxline.audio.wav import write_wav
from voxline.audio.frames import ENGINE_RATE, silence


@dataclass(frozen=True)
class CallerLine:
    name: str
    text: str
    key_words: tuple[str, ...]


CALLER_LINES = (
    CallerLine("hours", "Hi, what are your opening hours?", ("hours",)),
    CallerLine("cleaning", "I'd like to book a cleaning for next Tuesday.", ("cleaning", "tuesday")),
    CallerLine("afternoon", "Do you have anything in the afternoon?", ("afternoon",)),
    CallerLine("name", "My name is Maria Lopez.", ("maria",)),
    CallerLine("whitening", "Do you also offer teeth whitening?", ("whitening",)),
    CallerLine("emergency", "I have a bad toothache. Can I come in today?", ("toothache", "today")),
    CallerLine("wednesday", "Is Wednesday morning free?", ("wednesday", "morning")),
    CallerLine("weekend", "Are you open on Saturday?", ("saturday",)),
    CallerLine("filling", "I think I need a new filling.", ("filling",)),
    CallerLine("thanks", "Great, thank you very much. Goodbye.", ("thank",)),
)

# Leading and trailing silence, as a phone line would carry around the words.
LEAD_MS = 300
TAIL_MS = 200


def synthesize_lines(directory: Path, lines: tuple[CallerLine, ...] = CALLER_LINES) -> list[Path]:
    """Write one 16 kHz WAV per caller line into `directory` (skips those already there)."""
    from voxline.providers.local.piper import PiperTTS

    directory.mkdir(parents=True, exist_ok=True)
    tts: PiperTTS | None = None
    paths = []
    for number, line in enumerate(lines, start=1):
        path = directory / f"caller{number:02d}_{line.name}.wav"
        paths.append(path)
        if path.exists():
            continue
        tts = tts or PiperTTS(deterministic=True)
        pcm = resample(tts.synthesize_blocking(line.text), tts.rate, ENGINE_RATE)
        write_wav(path, silence(ENGINE_RATE, LEAD_MS) + pcm + silence(ENGINE_RATE, TAIL_MS), ENGINE_RATE)
    return paths
