"""WebRTC signalling on the ASGI server: hold a slot over HTTP, then offer/answer and trickle ICE
over one WebSocket per call. The JSON schema is in messages.py and docs/webrtc.md.

    POST /webrtc/calls   201 {"call_id", "signalling", "rtc_configuration", "hold_s"}
                         503 {"error": {"code": "server_full" | "not_ready" | "models_failed",
                                        "message"}}
    DELETE /webrtc/calls/ID   give back a held line the page will not use (204, or 404)
    WS   /webrtc/ws?call_id=ID   (without call_id a slot is held and claimed at once)
    GET  /webrtc/stats   state-transition counts, set-up times, end reasons, ICE failures

The socket's life is the call's: a closed socket (a closed tab) ends the call at once, and a
call that ends for any other reason says `bye` with the reason and closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from voxline.config import Settings
from voxline.providers.registry import Providers
from voxline.telemetry.logs import bind_call
from voxline.transports.webrtc import messages as wire
from voxline.transports.webrtc.browser_call import BrowserCall
from voxline.transports.webrtc.ice import browser_rtc_configuration
from voxline.transports.webrtc.slots import CallSlots, ServerFull
from voxline.transports.webrtc.stats import WebRTCStats

log = logging.getLogger(__name__)

# A socket that has not sent its offer by then is closed and its slot freed.
OFFER_TIMEOUT_S = 30.0
RETRY_AFTER_S = 5
# WebSocket close codes: 1013 "try again later" (full, not ready), 1008 policy (unknown call).
CLOSE_TRY_LATER = 1013
CLOSE_POLICY = 1008


class NotReady(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class WebRTCService:
    def __init__(
        self,
        settings: Settings,
        providers: Callable[[], Providers | None],
        load_error: Callable[[], str | None],
        toolbox: Callable[[], Any] | None = None,
    ) -> None:
        self.settings = settings
        self._providers = providers
        self._load_error = load_error
        self._toolbox = toolbox
        self.stats = WebRTCStats()
        self.slots = CallSlots(settings.webrtc.max_calls)
        self.calls: dict[str, BrowserCall] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/webrtc/calls", self.create_call, methods=["POST"]),
            Route("/webrtc/calls/{call_id}", self.drop_call, methods=["DELETE"]),
            WebSocketRoute("/webrtc/ws", self.signalling),
            Route("/webrtc/stats", self.stats_page),
        ]

    def describe(self) -> dict[str, Any]:
        return {
            "name": "webrtc",
            "page": "/",
            "signalling": "/webrtc/ws",
            "active_calls": self.slots.active,
            "held_calls": self.slots.held,
            "max_calls": self.slots.max_calls,
        }

    async def shutdown(self) -> None:
        for call in list(self.calls.values()):
            call.end("server_shutdown")
        for _ in range(50):  # each socket handler closes its call, then leaves the table
            if not self.calls:
                return
            await asyncio.sleep(0.1)

    # -- HTTP -----------------------------------------------------------------------------

    async def create_call(self, request: Request) -> JSONResponse:
        try:
            self._ready()
            call_id = self.slots.hold()
        except NotReady as err:
            return self._refuse(err.code, str(err))
        except ServerFull as err:
            return self._refuse("server_full", str(err), max_calls=err.max_calls)
        config = browser_rtc_configuration(self.settings.webrtc, user=call_id)
        body = {
            "call_id": call_id,
            "signalling": f"/webrtc/ws?call_id={call_id}",
            "rtc_configuration": config,
            "hold_s": self.slots.hold_s,
        }
        return JSONResponse(body, status_code=201)

    async def drop_call(self, request: Request) -> Response:
        if self.slots.drop_hold(request.path_params["call_id"]):
            return Response(status_code=204)
        message = "no line is held under that id (claimed calls end by hanging up)"
        return JSONResponse({"error": {"code": "unknown_call", "message": message}}, 404)

    async def stats_page(self, request: Request) -> JSONResponse:
        return JSONResponse({**self.describe(), **self.stats.as_dict()})

    def _refuse(self, code: str, message: str, **extra: Any) -> JSONResponse:
        self.stats.rejected[code] += 1
        body = {"error": {"code": code, "message": message, **extra}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})

    def _ready(self) -> Providers:
        providers = self._providers()
        if providers is not None:
            return providers
        if error := self._load_error():
            raise NotReady("models_failed", f"the models failed to load: {error}")
        raise NotReady("not_ready", "the models are still loading; try again in a few seconds")

    # -- the socket -----------------------------------------------------------------------

    async def signalling(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            providers = self._ready()
            call_id = self._claim(ws.query_params.get("call_id"))
        except (NotReady, ServerFull, LookupError) as err:
            code = getattr(err, "code", None) or (
                "server_full" if isinstance(err, ServerFull) else "unknown_call"
            )
            self.stats.rejected[code] += 1
            await ws.send_text(wire.error(code, str(err).strip("'\""), fatal=True))
            await ws.close(CLOSE_POLICY if code == "unknown_call" else CLOSE_TRY_LATER)
            return
        try:
            await self._serve(ws, call_id, providers)
        finally:
            self.calls.pop(call_id, None)
            self.slots.release(call_id)

    def _claim(self, call_id: str | None) -> str:
        if call_id is None:
            call_id = self.slots.hold()  # ServerFull past the limit
        if not self.slots.claim(call_id):
            raise LookupError(
                f"no call {call_id!r} is held here (it lapsed after {self.slots.hold_s:.0f} s, "
                "or was never made): POST /webrtc/calls again"
            )
        return call_id

    async def _serve(self, ws: WebSocket, call_id: str, providers: Providers) -> None:
        # This connection's task (and the reader/writer tasks it starts) log for this call only.
        bind_call(call_id, "webrtc")
        outbox: asyncio.Queue[str] = asyncio.Queue()
        session = BrowserCall(
            call_id,
            providers,
            self.settings,
            self.stats,
            toolbox=self._toolbox() if self._toolbox else None,
            caller=ws.client.host if ws.client else None,  # the page's address, as seen here
            on_connected=lambda ms: outbox.put_nowait(wire.connected(call_id, ms)),
        )
        self.calls[call_id] = session
        reader = asyncio.create_task(self._read(ws, session, outbox))
        writer = asyncio.create_task(_write(ws, outbox))
        ended = asyncio.create_task(session.ended.wait())
        try:
            await asyncio.wait({reader, ended}, return_when=asyncio.FIRST_COMPLETED)
            if reader.done() and (fault := reader.exception()) is not None:
                log.error("call %s: signalling failed", call_id, exc_info=fault)
                session.end(f"error: signalling: {type(fault).__name__}: {fault}")
            session.end("signalling_closed")  # no-op when something else ended it first
        finally:
            for task in (reader, ended):
                task.cancel()
            await session.close()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await _goodbye(ws, outbox, session.end_reason or "ended")

    async def _read(self, ws: WebSocket, session: BrowserCall, outbox: asyncio.Queue[str]) -> None:
        loop = asyncio.get_running_loop()
        offer_deadline = loop.time() + OFFER_TIMEOUT_S
        while True:
            waiting_for_offer = session.pc is None
            timeout = offer_deadline - loop.time() if waiting_for_offer else None
            try:
                frame = await asyncio.wait_for(ws.receive(), timeout)
            except TimeoutError:
                session.end(f"offer_timeout: no offer within {OFFER_TIMEOUT_S:.0f} s")
                return
            if frame["type"] == "websocket.disconnect":
                return
            raw = frame.get("text") if frame.get("text") is not None else frame.get("bytes", b"")
            try:
                message = wire.parse_client_message(raw)
                if await self._handle(session, message, outbox):
                    return
            except wire.SignallingError as err:
                log.info("call %s: signalling error %s: %s", session.call_id, err.code, err)
                outbox.put_nowait(wire.error(err.code, err.message))

    async def _handle(
        self, session: BrowserCall, message: wire.ClientMessage, outbox: asyncio.Queue[str]
    ) -> bool:
        """Act on one message; True when the page hung up."""
        if isinstance(message, wire.Offer):
            sdp = await session.answer(message.sdp)
            outbox.put_nowait(wire.answer(sdp, session.call_id))
        elif isinstance(message, wire.Candidate):
            await session.add_candidate(message)
        elif isinstance(message, wire.EndOfCandidates):
            await session.end_of_candidates()
        elif isinstance(message, wire.BrowserIceState):
            session.ice.browser_state(message.state)
        elif isinstance(message, wire.Hangup):
            session.end("hangup")
            return True
        return False


async def _write(ws: WebSocket, outbox: asyncio.Queue[str]) -> None:
    while True:
        text = await outbox.get()
        try:
            await ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the page is gone; the reader sees the close and ends the call


async def _goodbye(ws: WebSocket, outbox: asyncio.Queue[str], reason: str) -> None:
    """Send what is still queued and the reason the call ended, then close (if still open)."""
    if ws.client_state != WebSocketState.CONNECTED or ws.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while not outbox.empty():
            await ws.send_text(outbox.get_nowait())
        await ws.send_text(wire.bye(reason))
        await ws.close(1000)
