"""The Twilio routes of the server: the voice webhook and the stream WebSocket, the calls in
progress (bounded by max_calls) and the summaries of the last calls that ended."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from voxline.agent.tools import Toolbox
from voxline.config import Settings
from voxline.providers.registry import Providers
from voxline.transports.twilio.signature import SIGNATURE_HEADER, TwilioSignature, public_url
from voxline.transports.twilio.stream import StreamSummary, TwilioStream
from voxline.transports.twilio.webhook import STREAM_PATH, VOICE_PATH, answer_call

log = logging.getLogger(__name__)

FINISHED_KEPT = 100  # summaries of ended calls kept in memory (for /healthz-style inspection)
WS_POLICY_VIOLATION = 1008  # before accept: the server answers the handshake with 403
WS_TRY_AGAIN_LATER = 1013


class TwilioService:
    def __init__(
        self,
        settings: Settings,
        providers: Callable[[], Providers | None],
        toolbox: Callable[[], Toolbox] | None = None,
        on_ended: Callable[[StreamSummary], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_ended = on_ended  # e.g. telemetry's transport_ended, with the stream's end reason
        self.config = settings.twilio
        self._providers = providers  # None until the models are loaded and warm
        self._toolbox = toolbox  # the agent's tools, as browser calls get them
        token = self.config.auth_token
        self.signature = TwilioSignature(token.get_secret_value()) if token else None
        self.active: dict[int, TwilioStream] = {}
        self.finished: deque[StreamSummary] = deque(maxlen=FINISHED_KEPT)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(VOICE_PATH, self.voice, methods=["POST"]),
            WebSocketRoute(STREAM_PATH, self.stream),
        ]

    def describe(self) -> dict[str, Any]:
        return {
            "name": "twilio",
            "webhook": VOICE_PATH,
            "stream": STREAM_PATH,
            "configured": self.signature is not None,
            "active_calls": len(self.active),
            "max_calls": self.config.max_calls,
        }

    @property
    def can_take_call(self) -> bool:
        return self._providers() is not None and len(self.active) < self.config.max_calls

    async def voice(self, request: Request) -> Response:
        return await answer_call(request, self.config, self.signature, self.can_take_call)

    async def stream(self, websocket: WebSocket) -> None:
        url = public_url(str(websocket.url), self.config.public_base_url)
        header = websocket.headers.get(SIGNATURE_HEADER)
        if self.signature is None or not self.signature.valid_handshake(url, header):
            log.warning("twilio stream refused: %s X-Twilio-Signature for %s",
                        "bad" if header else "no", url)
            await websocket.close(WS_POLICY_VIOLATION)
            return
        providers = self._providers()
        if providers is None or len(self.active) >= self.config.max_calls:
            log.warning("twilio stream refused: models not ready or worker full")
            await websocket.close(WS_TRY_AGAIN_LATER)
            return
        toolbox = self._toolbox() if self._toolbox else None
        stream = TwilioStream(websocket, providers, self.settings, toolbox)
        self.active[id(stream)] = stream
        try:
            summary = await stream.run()
        finally:
            del self.active[id(stream)]
        if summary is not None:
            self.finished.append(summary)
            if self._on_ended is not None:
                self._on_ended(summary)
