"""The ASGI app: health, readiness, the browser call page and WebRTC signalling.

Models load and warm in the background at start-up, so `/healthz` (liveness) answers at once
while `/readyz` says 503 until the first call can be served without a cold start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from voxline import __version__
from voxline.agent.clinic import AppointmentBook
from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.agent.tools import Toolbox
from voxline.config import Settings
from voxline.privacy.audit import AuditLog
from voxline.privacy.boundary import warm_redaction
from voxline.providers.registry import Providers, check_names
from voxline.server.dashboard import Dashboard
from voxline.server.heap import settle_heap
from voxline.server.page import render_index
from voxline.telemetry.hub import Telemetry
from voxline.telemetry.logs import configure_logging
from voxline.telemetry.metrics_endpoint import metrics_endpoint
from voxline.telemetry.webrtc_tap import ObservedWebRTCStats
from voxline.transports.sip import SipAgent
from voxline.transports.sip.inbound import SipCallSummary
from voxline.transports.twilio import TwilioService
from voxline.transports.webrtc.signalling import WebRTCService

log = logging.getLogger(__name__)


class ServerState:
    def __init__(self, settings: Settings, *, owns_process: bool = False) -> None:
        self.settings = settings
        self.owns_process = owns_process  # the only app in its process: it may tune the gc
        self.started = time.time()
        self.providers: Providers | None = None
        self.error: str | None = None
        self.ready = asyncio.Event()
        self.transports: list = []  # each has describe() -> dict

    async def load(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            providers = await loop.run_in_executor(None, Providers.load, self.settings)
            await providers.warm(CLINIC_SYSTEM_PROMPT)
            await loop.run_in_executor(None, warm_redaction, self.settings)
            self.providers = providers
            if self.owns_process:
                settle_heap()
            self.ready.set()
            log.info("models loaded and warm: ready for calls")
        except Exception as err:  # noqa: BLE001 - reported on /healthz and the page
            self.error = f"{type(err).__name__}: {err}"
            log.error("could not load models: %s", self.error)

    def describe(self) -> dict:
        s = self.settings
        return {
            "status": "ok",
            "version": __version__,
            "ready": self.ready.is_set(),
            "error": self.error,
            "uptime_s": round(time.time() - self.started, 1),
            "providers": {"stt": s.stt, "llm": s.llm, "tts": s.tts, "vad": s.endpointing.vad},
            "listening": {"http": f"http://{s.host}:{s.port}"},
            "transports": [t.describe() for t in self.transports],
        }


def _sip_ended(telemetry: Telemetry, ended: SipCallSummary) -> None:
    """The SIP call's end reason, and how the caller's packets reached the engine (the bench
    times the endpoint from its own packets only while they were handed on one to one)."""
    telemetry.transport_ended(ended.call_id, ended.ended_by)
    if ended.answered:
        telemetry.transport_event(ended.call_id, "sip_inbound", ended.inbound)


def create_app(settings: Settings, *, telemetry: Telemetry | None = None,
               owns_process: bool = False) -> Starlette:
    check_names(settings)  # a bad provider name fails here, before the server binds
    configure_logging(settings.telemetry.log_format, settings.telemetry.log_level)
    state = ServerState(settings, owns_process=owns_process)
    telemetry = telemetry or Telemetry.from_settings(settings)
    clinic = functools.cache(lambda: AppointmentBook(settings.clinic_db))
    webrtc = WebRTCService(
        settings,
        providers=lambda: state.providers if state.ready.is_set() else None,
        load_error=lambda: state.error,
        toolbox=lambda: Toolbox(clinic().tools()),
    )
    webrtc.stats = ObservedWebRTCStats(telemetry)  # ICE states and end reasons to telemetry
    state.transports.append(webrtc)
    twilio = TwilioService(  # POST /twilio/voice, WebSocket /twilio/stream
        settings,
        providers=lambda: state.providers if state.ready.is_set() else None,
        toolbox=lambda: Toolbox(clinic().tools()),
        on_ended=lambda ended: telemetry.transport_ended(ended.call_id, ended.ended_by),
    )
    state.transports.append(twilio)
    sip = None
    if settings.sip.enabled:  # UDP SIP from a trunk, beside the HTTP server
        sip = SipAgent(
            settings,
            providers=lambda: state.providers if state.ready.is_set() else None,
            toolbox=lambda: Toolbox(clinic().tools()),
            on_ended=functools.partial(_sip_ended, telemetry),
        )
        state.transports.append(sip)

    dashboard = Dashboard(lambda: telemetry.recorder, settings.telemetry.budgets_ms,
                          audit=AuditLog(settings.privacy.audit_log))

    @asynccontextmanager
    async def lifespan(app: Starlette):
        telemetry.start()
        task = asyncio.create_task(state.load())
        if sip is not None:
            await sip.start()
        yield
        if sip is not None:
            await sip.stop()
        await webrtc.shutdown()
        task.cancel()
        if state.providers is not None:
            await state.providers.aclose()
        await asyncio.to_thread(telemetry.close)  # the queued records, off the loop

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse(state.describe())

    async def readyz(request: Request) -> JSONResponse:
        info = state.describe()
        return JSONResponse(info, status_code=200 if info["ready"] else 503)

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(render_index(state.describe()))

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint(
                lambda: telemetry.sync_provider_counters(state.providers))),
            *dashboard.routes(),  # /calls, /calls/{call_id}
            *webrtc.routes(),
            *twilio.routes(),
            Mount("/static", StaticFiles(packages=[("voxline.server", "static")]), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.voxline = state
    app.state.telemetry = telemetry
    app.state.twilio = twilio
    app.state.sip = sip
    return app

