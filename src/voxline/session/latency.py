"""Latency figures from a turn's stamps: the only module that subtracts timestamps.

Names follow DESIGN.md. `voice_to_voice_ms` is not here on purpose: it is measured by a client
(the caller harness, the browser page, the file caller), never inferred on the server.
"""

from __future__ import annotations

from collections.abc import Mapping

from voxline.session.clock import Mark

LATENCY_NAMES = (
    "endpoint_delay_ms",
    "stt_latency_ms",
    "llm_first_token_ms",
    "tts_first_chunk_ms",
    "turn_latency_ms",
)
# Measured beside the DESIGN names: where the rest of the turn's time went.
DETAIL_NAMES = ("stt_compute_ms", "first_clause_ms", "barge_in_stop_ms")


def _ms(stamps: Mapping[str, int], start: Mark, end: Mark) -> float | None:
    a, b = stamps.get(start.value), stamps.get(end.value)
    if a is None or b is None:
        return None
    return round((b - a) / 1e6, 3)


def turn_latencies(stamps: Mapping[str, int]) -> dict[str, float | None]:
    stt = _ms(stamps, Mark.ENDPOINT, Mark.STT_FINAL)
    return {
        "endpoint_delay_ms": _ms(stamps, Mark.SPEECH_END, Mark.ENDPOINT),
        # Speculative STT often finishes before the endpoint: then it costs the turn nothing.
        "stt_latency_ms": None if stt is None else max(0.0, stt),
        "llm_first_token_ms": _ms(stamps, Mark.LLM_REQUEST, Mark.LLM_FIRST_TOKEN),
        "tts_first_chunk_ms": _ms(stamps, Mark.TTS_REQUEST, Mark.TTS_FIRST_CHUNK),
        "turn_latency_ms": _ms(stamps, Mark.ENDPOINT, Mark.FIRST_AUDIO_OUT),
        "stt_compute_ms": _ms(stamps, Mark.STT_REQUEST, Mark.STT_FINAL),
        "first_clause_ms": _ms(stamps, Mark.LLM_REQUEST, Mark.FIRST_CLAUSE),
        "barge_in_stop_ms": _ms(stamps, Mark.BARGE_IN_DETECTED, Mark.BARGE_IN_STOPPED),
    }


def relative_ms(stamps: Mapping[str, int], origin_ns: int) -> dict[str, float]:
    """Stamps as milliseconds since the call started, for records and waterfalls."""
    return {name: round((ns - origin_ns) / 1e6, 3) for name, ns in stamps.items()}


# Waterfall rows: (label, from, to), drawn relative to the end of the caller's speech.
_WATERFALL = (
    ("endpoint", Mark.SPEECH_END, Mark.ENDPOINT),
    ("stt", Mark.STT_REQUEST, Mark.STT_FINAL),
    ("llm first token", Mark.LLM_REQUEST, Mark.LLM_FIRST_TOKEN),
    ("first clause", Mark.LLM_REQUEST, Mark.FIRST_CLAUSE),
    ("tts first chunk", Mark.TTS_REQUEST, Mark.TTS_FIRST_CHUNK),
    ("first audio out", Mark.TTS_FIRST_CHUNK, Mark.FIRST_AUDIO_OUT),
)


def waterfall(stamps: Mapping[str, int]) -> list[tuple[str, float, float]]:
    """Rows of (label, start_ms, end_ms) relative to the caller's last voiced audio."""
    origin = stamps.get(Mark.SPEECH_END.value)
    if origin is None:
        return []
    rows = []
    for label, start, end in _WATERFALL:
        a, b = stamps.get(start.value), stamps.get(end.value)
        if a is not None and b is not None:
            rows.append((label, round((a - origin) / 1e6, 1), round((b - origin) / 1e6, 1)))
    return rows
