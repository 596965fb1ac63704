"""The caller harness: a synthetic caller that dials a voxline server over a real transport
(Twilio Media Streams, WebRTC, SIP), speaks a script of caller WAVs, records what it hears and
measures voice_to_voice_ms and barge_in_stop_ms per turn (docs/caller.md).

    script.py     Script, ScriptTurn: the turns, from TOML or a list of WAVs
    energy.py     voiced-or-not by energy, -40 dBFS over 5 ms windows
    playout.py    the caller's playout buffer: what it plays, and its gaps
    line.py       CallerLine: the transport-neutral 20 ms line and its stamps
    conductor.py  when each turn is spoken, and the per-turn figures
    result.py     CallResult, TurnResult
    twilio.py     webrtc.py  sip.py: the transports
    place.py      place_call
"""

from voxline.bench.caller.errors import (
    CallerError,
    CallTimeout,
    ScriptError,
    TargetError,
    UnreachableError,
)
from voxline.bench.caller.place import TRANSPORTS, place_call
from voxline.bench.caller.result import CallResult, TurnResult
from voxline.bench.caller.script import Script, ScriptTurn

__all__ = [
    "TRANSPORTS",
    "CallResult",
    "CallTimeout",
    "CallerError",
    "Script",
    "ScriptError",
    "ScriptTurn",
    "TargetError",
    "TurnResult",
    "UnreachableError",
    "place_call",
]
