"""Server messages written as Deepgram writes them (for the local fake server).

Kept to the documented shape, extra fields included, so that the client is tested against what
the real service sends and not against a simplified echo of its own parser.
"""

from __future__ import annotations

import json
from typing import Any

from voxline.protocols.deepgram.events import Word


def make_words(transcript: str, start: float, end: float, confidence: float) -> tuple[Word, ...]:
    """Spread a transcript's words evenly over ``[start, end]`` (for the fake server)."""
    tokens = transcript.split()
    if not tokens:
        return ()
    step = max(end - start, 0.0) / len(tokens)
    return tuple(
        Word(
            word=token.strip(".,!?;:").lower() or token,
            start=round(start + i * step, 3),
            end=round(start + (i + 1) * step, 3),
            confidence=confidence,
            punctuated_word=token,
        )
        for i, token in enumerate(tokens)
    )


def results_message(
    transcript: str,
    *,
    start: float,
    duration: float,
    is_final: bool,
    speech_final: bool = False,
    from_finalize: bool = False,
    confidence: float = 0.0,
    words: tuple[Word, ...] = (),
    request_id: str = "",
    channels: int = 1,
) -> str:
    word_list = []
    for w in words:
        item: dict[str, Any] = {
            "word": w.word, "start": w.start, "end": w.end, "confidence": w.confidence
        }
        if w.punctuated_word is not None:
            item["punctuated_word"] = w.punctuated_word
        word_list.append(item)
    return json.dumps(
        {
            "type": "Results",
            "channel_index": [0, channels],
            "duration": round(duration, 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {"transcript": transcript, "confidence": confidence, "words": word_list}
                ]
            },
            "metadata": {
                "request_id": request_id,
                "model_info": {"name": "voxline-fake", "version": "0", "arch": "fake"},
                "model_uuid": "00000000-0000-0000-0000-000000000000",
            },
            "from_finalize": from_finalize,
        }
    )


def speech_started_message(timestamp: float, channels: int = 1) -> str:
    return json.dumps(
        {"type": "SpeechStarted", "channel": [0, channels], "timestamp": round(timestamp, 3)}
    )


def utterance_end_message(last_word_end: float, channels: int = 1) -> str:
    return json.dumps(
        {"channel": [0, channels], "last_word_end": round(last_word_end, 3), "type": "UtteranceEnd"}
    )


def metadata_message(
    request_id: str, duration: float, channels: int = 1, *, created: str = "", sha256: str = ""
) -> str:
    return json.dumps(
        {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": request_id,
            "sha256": sha256,
            "created": created,
            "duration": round(duration, 3),
            "channels": channels,
        }
    )
