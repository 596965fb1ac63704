"""Opening one WebSocket connection, and naming why a handshake was refused.

Kept apart from the retry loop so that "what went wrong" (a typed error, decided here) and
"should we try again" (decided in ``backoff``) can each be read on their own.
"""

from __future__ import annotations

from collections.abc import Mapping

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from voxline.errors import (
    ProviderConnectError,
    ProviderError,
    ProviderRequestError,
    ProviderServerError,
    RateLimited,
)

PING_INTERVAL_S = 5.0  # WebSocket ping; a dead peer is noticed within interval + timeout
PING_TIMEOUT_S = 10.0


class _NoRedirects(ws_connect):
    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc  # rule 1: a 3xx is an error here, never a new host to contact


class AuthRefused(ProviderConnectError):
    """HTTP 401/403 at the handshake: retrying with the same credentials cannot help."""


def classify_handshake(name: str, status: int, retry_after: str | None = None) -> ProviderError:
    """The typed error for a refused WebSocket handshake (HTTP status instead of 101)."""
    if status in (401, 403):
        return AuthRefused(
            f"{name}: the server refused the credentials (HTTP {status}); check the API key"
        )
    if status == 429:
        try:
            seconds = float(retry_after) if retry_after is not None else None
        except ValueError:
            seconds = None
        return RateLimited(f"{name}: rate limited at connect (HTTP 429); retry later", seconds)
    if status >= 500:
        return ProviderServerError(f"{name}: server error at connect (HTTP {status})", status)
    return ProviderRequestError(
        f"{name}: the server rejected the request (HTTP {status}); check the model and options",
        status,
    )


async def open_connection(
    url: str, *, name: str, headers: Mapping[str, str], connect_timeout_s: float
) -> ClientConnection:
    """One connection attempt; every failure comes out as a ProviderError subclass."""
    try:
        return await _NoRedirects(
            url,
            additional_headers=headers,
            open_timeout=connect_timeout_s,
            ping_interval=PING_INTERVAL_S,
            ping_timeout=PING_TIMEOUT_S,
            close_timeout=1.0,
            proxy=None,  # rule 1: never route through a proxy taken from the environment
            compression=None,  # audio does not compress; save the CPU
            user_agent_header="voxline",
        )
    except InvalidStatus as err:
        response = err.response
        raise classify_handshake(
            name, response.status_code, response.headers.get("Retry-After")
        ) from None
    except TimeoutError as err:
        raise ProviderConnectError(
            f"{name}: no WebSocket handshake within {connect_timeout_s} s; "
            "check the network or raise connect_timeout_s"
        ) from err
    except (OSError, InvalidHandshake) as err:
        raise ProviderConnectError(
            f"{name}: cannot connect ({type(err).__name__}: {err}); "
            "check the URL and the network"
        ) from err
