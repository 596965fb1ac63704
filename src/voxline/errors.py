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


class ProviderConnectError(ProviderError):
    """The provider could not be reached or refused the connection (auth, DNS, TLS, refused)."""


class ProviderTimeout(ProviderError):
    """The provider did not answer in time (for an LLM: no first token within the limit)."""


class RateLimited(ProviderError):
    """HTTP 429. `retry_after_s` is the provider's Retry-After, when it sent one."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ProviderServerError(ProviderError):
    """HTTP 5xx: the provider's fault, worth a retry or a fallback."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ProviderRequestError(ProviderError):
    """HTTP 4xx other than 429: our request is wrong; retrying it will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ProtocolViolation(ProviderError):
    """The provider sent something its documented protocol does not allow (a malformed frame)."""


def error_class(err: BaseException) -> str:
    """The label errors are counted by: 429, 5xx, 4xx, timeout, connect, protocol, other."""
    if isinstance(err, RateLimited):
        return "429"
    if isinstance(err, ProviderServerError):
        return "5xx"
    if isinstance(err, ProviderRequestError):
        return "4xx"
    if isinstance(err, ProviderTimeout):
        return "timeout"
    if isinstance(err, ProviderConnectError):
        return "connect"
    if isinstance(err, ProtocolViolation):
        return "protocol"
    return "other"
