"""What can go wrong when placing a scripted call, as typed errors that say what to do."""

from __future__ import annotations

from voxline.errors import VoxlineError


class CallerError(VoxlineError):
    """The caller harness could not place or finish a call."""


class ScriptError(CallerError):
    """A call script (TOML or a list of WAVs) is unusable: a missing or unreadable WAV, a bad
    field, no turns."""


class TargetError(CallerError):
    """The target does not fit the transport (a sip: URI for the Twilio transport, say)."""


class UnreachableError(CallerError):
    """The server did not answer: nothing listening, refused, or the call was rejected."""


class CallTimeout(CallerError):
    """The call ran past its time limit."""
