"""The page at `/`: the static call page with the server's status panel rendered into it.

The panel is rendered here rather than by the page's script, so what is listening, which
models run and whether they are warm reads right with JavaScript off and to `curl` too.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources
from typing import Any

STATUS_SLOT = "<!--voxline:status-->"
VERSION_SLOT = "<!--voxline:version-->"


@cache
def _template() -> str:
    return resources.files("voxline.server").joinpath("static/index.html").read_text("utf-8")


def render_index(info: dict[str, Any]) -> str:
    page = _template()
    return page.replace(VERSION_SLOT, html.escape(info["version"])).replace(
        STATUS_SLOT, status_panel(info)
    )


def status_panel(info: dict[str, Any]) -> str:
    esc = html.escape
    if info["error"]:
        status = f"models failed to load: {esc(info['error'])}"
        css = "bad"
    elif info["ready"]:
        status, css = "models loaded and warm: ready for calls", "good"
    else:
        status, css = "loading and warming models…", ""
    providers = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in info["providers"].items()
    )
    transports = "".join(_transport(t) for t in info["transports"]) or (
        "<li>no call transport is enabled; <code>voxline talk caller.wav</code> runs a call "
        "from WAV files</li>"
    )
    http = esc(info["listening"]["http"])
    return f"""<p id="model-status" class="{css}">{status}</p>
<ul>
<li>HTTP on <code>{http}</code>: <a href="/healthz">/healthz</a> (liveness),
<a href="/readyz">/readyz</a> (readiness)</li>
{transports}
</ul>
<table>{providers}</table>"""


def _transport(t: dict[str, Any]) -> str:
    esc = html.escape
    if t.get("name") == "webrtc":
        return (
            f"<li>WebRTC browser calls: this page, signalling on <code>{esc(t['signalling'])}"
            f"</code> ({t['active_calls']} of {t['max_calls']} lines busy; "
            '<a href="/webrtc/stats">/webrtc/stats</a>)</li>'
        )
    details = "; ".join(f"{esc(str(k))} {esc(str(v))}" for k, v in t.items() if k != "name")
    return f"<li>{esc(str(t.get('name', 'transport')))}: {details}</li>"
