"""The worker under test: one `voxline serve` process configured from the scenario, and what
its call records say afterwards (the server-side components of each turn)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from voxline.bench.scenario.schema import Scenario
from voxline.config import Settings
from voxline.session.latency import LATENCY_NAMES

TWILIO_TOKEN = "bench-token"  # the worker's Twilio auth token; callers sign with it
SERVER_COMPONENTS = LATENCY_NAMES


def worker_env(scenario: Scenario, records_dir: Path, providers: Settings | None,
               max_calls: int) -> dict[str, str]:
    """VOXLINE_* settings for the worker. `providers`: settings pointed at the cloud-sim
    servers (None: the local profile, the worker's own defaults)."""
    env = {
        "VOXLINE_ENDPOINTING__VAD": scenario.worker.vad,
        "VOXLINE_ENDPOINTING__TRAILING_SILENCE_MS": str(scenario.worker.endpoint_ms),
        # One fixed window, so that the caller-side overhead can subtract it exactly.
        "VOXLINE_ENDPOINTING__ADAPTIVE": "false",
        "VOXLINE_TWILIO__AUTH_TOKEN": TWILIO_TOKEN,
        "VOXLINE_TWILIO__MAX_CALLS": str(max_calls),
        "VOXLINE_WEBRTC__MAX_CALLS": str(max_calls),
        "VOXLINE_SIP__MAX_CALLS": str(max_calls),
        "VOXLINE_RECORDS_DIR": str(records_dir),
        "VOXLINE_EVENT_LOOP": scenario.worker.event_loop,
        "VOXLINE_RECORDS__ENABLED": json.dumps(scenario.worker.records),
    }
    if providers is not None:
        for name in ("stt", "llm", "tts"):
            env[f"VOXLINE_{name.upper()}"] = json.dumps(getattr(providers, name))
        for name in ("deepgram", "openai", "elevenlabs"):
            key = getattr(providers, f"{name}_api_key")
            env[f"VOXLINE_{name.upper()}_API_KEY"] = key.get_secret_value()
        env["VOXLINE_DEEPGRAM_URL"] = providers.deepgram_url or ""
        env["VOXLINE_OPENAI_BASE_URL"] = providers.openai_base_url or ""
        env["VOXLINE_ELEVENLABS_URL"] = providers.elevenlabs_url or ""
        env["VOXLINE_ELEVENLABS_AUDIO_TIMEOUT_S"] = str(providers.elevenlabs_audio_timeout_s)
    env.update(scenario.worker.env)
    return env


def server_turns(records_dir: Path, skip_first_calls: int = 0) -> list[dict]:
    """Every turn the worker recorded: outcome, latency columns, stamps (ms since its call
    started), inbound audio positions, the call's transport id and, over SIP, its `sip_inbound`
    account (as "inbound"), read from its SQLite records after it stopped; the turns of the
    first `skip_first_calls` calls (warm-up) left out."""
    path = records_dir / "calls.sqlite"
    if not path.exists():
        return []
    columns = ", ".join((*(f"t.{c}" for c in ("call_id", "outcome", *SERVER_COMPONENTS)),
                         "t.stamps_ms", "t.audio_ms", "c.transport_ref"))
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(f"SELECT {columns} FROM turns t JOIN calls c USING (call_id) "
                          "ORDER BY t.call_id, t.turn_index").fetchall()
        first = db.execute("SELECT call_id FROM calls ORDER BY started_at LIMIT ?",
                           (skip_first_calls,)).fetchall()
        # SIP: how the caller's packets reached the engine (sip_overhead.py)
        inbound = dict(db.execute("SELECT call_id, data FROM events WHERE kind = 'sip_inbound'"
                                  ).fetchall())
    skipped = {call_id for (call_id,) in first}
    turns = []
    for call_id, outcome, *figures, stamps, audio, transport_ref in rows:
        if call_id in skipped:
            continue
        turn = {"call_id": call_id, "outcome": outcome, "transport_ref": transport_ref}
        turn.update(zip(SERVER_COMPONENTS, figures))
        turn["stamps_ms"] = _json(stamps) or {}
        turn["audio_ms"] = _json(audio) or {}
        if call_id in inbound:
            turn["inbound"] = _json(inbound[call_id])
        turns.append(turn)
    return turns


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def answer_ready_before_endpoint(turn: dict) -> bool | None:
    """Whether the first TTS audio was back before the endpoint (no provider time left on the
    critical path); None when a stamp is missing."""
    stamps = turn.get("stamps_ms") or {}
    chunk, endpoint = stamps.get("tts_first_chunk"), stamps.get("endpoint")
    if chunk is None or endpoint is None:
        return None
    return chunk <= endpoint
