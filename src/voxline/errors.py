"""Typed errors. Every message says what happened and what to do about it."""


class VoxlineError(Exception):
    """Base of every error voxline raises on purpose."""


class WavError(VoxlineError):
    """A WAV file could not be read or written (corrupt, truncated, unsupported encoding)."""


class ModelMissingError(VoxlineError):
    """A packaged model file is not installed, or its hash does not match the pinned one."""


class ConfigError(VoxlineError):
    """The configuration is invalid: a bad provider name, a missing key, an impossible value."""


class ProviderError(VoxlineError):
    """A provider (STT, LLM, TTS) failed while serving a request."""
