"""The ASGI app: health, readiness and a page saying what is listening.

Models load and warm in the background at start-up, so `/healthz` (liveness) answers at once
while `/readyz` says 503 until the first call can be served without a cold start.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from voxline import __version__
from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.config import Settings
from voxline.providers.registry import Providers, check_names

log = logging.getLogger(__name__)


class ServerState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = time.time()
        self.providers: Providers | None = None
        self.error: str | None = None
        self.ready = asyncio.Event()

    async def load(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            providers = await loop.run_in_executor(None, Providers.load, self.settings)
            await providers.warm(CLINIC_SYSTEM_PROMPT)
            self.providers = providers
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
            "transports": [],
        }


def create_app(settings: Settings) -> Starlette:
    check_names(settings)  # a bad provider name fails here, before the server binds
    state = ServerState(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        task = asyncio.create_task(state.load())
        yield
        task.cancel()
        if state.providers is not None:
            await state.providers.aclose()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse(state.describe())

    async def readyz(request: Request) -> JSONResponse:
        info = state.describe()
        return JSONResponse(info, status_code=200 if info["ready"] else 503)

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(_page(state.describe()))

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.voxline = state
    return app


def _page(info: dict) -> str:
    esc = html.escape
    if info["error"]:
        status = f"<p class=bad>models failed to load: {esc(info['error'])}</p>"
    elif info["ready"]:
        status = "<p class=good>models loaded and warm: ready for calls</p>"
    else:
        status = "<p>loading and warming models…</p>"
    providers = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in info["providers"].items()
    )
    transports = (
        "".join(f"<li>{esc(t)}</li>" for t in info["transports"])
        or "<li>no call transport is enabled on this server yet; "
        "<code>voxline talk caller.wav</code> runs a call from WAV files</li>"
    )
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>voxline</title>
<style>body{{font:16px system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem}}
th{{text-align:left;padding-right:1rem}} .good{{color:#176c2f}} .bad{{color:#a31616}}</style>
</head><body>
<h1>voxline {esc(info['version'])}</h1>
{status}
<h2>Listening</h2>
<ul><li>HTTP on <code>{esc(info['listening']['http'])}</code>:
<a href=/healthz>/healthz</a> (liveness), <a href=/readyz>/readyz</a> (readiness)</li>
{transports}</ul>
<h2>Providers</h2><table>{providers}</table>
</body></html>"""
