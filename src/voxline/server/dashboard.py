"""The latency dashboard: GET /calls and GET /calls/{call_id}, server-rendered HTML with inline
SVG plots (dashboard_svg.py), read from the call records.

/calls            recent calls, flagged first; p50/p95 per component over a window
                  (?window=1h|24h|7d|30d) against the DESIGN.md budgets
/calls/{call_id}  the call's transcript (as recorded: redacted) and, per turn, a latency
                  waterfall: endpoint, STT, LLM first token, TTS first chunk, playout

Database reads run in a worker thread, never on the event loop. Every view of records is
first written to the audit log (privacy/audit.py); a view that cannot be audited is refused.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from voxline.privacy.audit import AuditError, AuditLog
from voxline.server.dashboard_svg import percentile_bars_svg, sparkline_svg, waterfall_svg
from voxline.telemetry.records import queries
from voxline.telemetry.records.recorder import Recorder

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
           "30d": timedelta(days=30)}
COMPONENTS = ("endpoint_delay_ms", "stt_latency_ms", "llm_first_token_ms", "tts_first_chunk_ms",
              "turn_latency_ms", "voice_to_voice_ms", "barge_in_stop_ms")
esc = html.escape

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1f2933;
 padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
a{color:#2563eb;text-decoration:none}a:hover{text-decoration:underline}
.muted{color:#7b8794}.nav a{margin-right:10px}.nav a.on{font-weight:600;color:#1f2933}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;
 border-bottom:1px solid #e4e7eb;vertical-align:middle}th{font-weight:600;color:#52606d}
.flag{display:inline-block;background:#fde8e8;color:#9b1c1c;border-radius:10px;
 padding:1px 8px;margin:1px 2px;font-size:12px}
tr.flagged td:first-child{border-left:3px solid #e02424}
svg text{font:12px system-ui,sans-serif;fill:#52606d}svg .label{fill:#1f2933}
svg .grid{stroke:#e4e7eb}svg .origin{stroke:#1f2933;stroke-dasharray:3 3}
svg .v2v{stroke:#e02424;stroke-width:2}svg .v2v-label{fill:#e02424}
svg .p95{fill:#bfdbfe}svg .p95.over{fill:#fecaca}svg .p50{fill:#1d4ed8}
svg .budget{stroke:#e02424;stroke-width:2}svg .value{fill:#1f2933}
.spark .ok{fill:#3b82f6}.spark .over{fill:#e02424}
.turn{border:1px solid #e4e7eb;border-radius:8px;padding:12px 16px;margin:14px 0}
.said{margin:4px 0}.said b{display:inline-block;width:56px;color:#52606d}
.figures{color:#52606d;font-size:13px}.cut{color:#9aa5b1;text-decoration:line-through}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _flags(flags: list[str] | None) -> str:
    return "".join(f'<span class="flag">{esc(f)}</span>' for f in flags or [])


def _seconds(ms: float | None) -> str:
    return "" if ms is None else f"{ms / 1000:.2f} s"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


class Dashboard:
    def __init__(self, recorder: Callable[[], Recorder | None], budgets_ms: Mapping[str, float],
                 audit: AuditLog | None = None):
        self._recorder = recorder
        self._budgets = budgets_ms
        self._audit = audit

    async def _audited(self, request: Request, action: str, target: str | None,
                       **detail: str) -> HTMLResponse | None:
        """Write the audit line for this view; a refusal page if it cannot be written."""
        if self._audit is None:
            return None
        client = request.client.host if request.client else "unknown"
        try:
            await run_in_threadpool(self._audit.record, f"dashboard {client}", action, target,
                                    **detail)
        except AuditError as err:
            response = _page("voxline calls", f"<h1>Calls</h1><p>{esc(str(err))}</p>")
            response.status_code = 503
            return response
        return None

    def routes(self) -> list[Route]:
        return [Route("/calls", self.calls), Route("/calls/{call_id}", self.call)]

    async def calls(self, request: Request) -> HTMLResponse:
        recorder = self._recorder()
        if recorder is None:
            return _page("voxline calls", "<h1>Calls</h1><p>Call records are off "
                         "(VOXLINE_RECORDS__ENABLED=false).</p>")
        window = request.query_params.get("window", "24h")
        if window not in WINDOWS:
            window = "24h"
        since = datetime.now(UTC) - WINDOWS[window]
        if refused := await self._audited(request, "view_calls", None, window=window):
            return refused
        engine = recorder.reader()
        try:
            rows = await run_in_threadpool(queries.recent_calls, engine, since)
            stats = await run_in_threadpool(queries.component_stats, engine, since)
        except SQLAlchemyError as err:
            return _unavailable(err)
        return _page("voxline calls", self._calls_body(window, rows, stats))

    def _calls_body(self, window: str, rows: list[dict[str, Any]], stats: dict) -> str:
        nav = " ".join(
            f'<a href="/calls?window={w}" class="{"on" if w == window else ""}">{w}</a>'
            for w in WINDOWS
        )
        bars = percentile_bars_svg([
            (name.removesuffix("_ms"), stats[name]["p50"], stats[name]["p95"],
             self._budgets.get(name))
            for name in COMPONENTS
        ])
        turns = stats["turn_latency_ms"]["count"]
        table = "".join(self._call_row(r) for r in rows) or (
            '<tr><td colspan="7" class="muted">no calls in this window</td></tr>')
        flagged = sum(1 for r in rows if r["flagged"])
        return f"""<h1>Calls</h1>
<p class="nav">window: {nav}</p>
<h2>Where the time goes: p50 (dark) and p95 (light), budget in red
 <span class="muted">— {turns} turns</span></h2>
{bars}
<h2>Recent calls <span class="muted">— {len(rows)} shown, {flagged} flagged for review</span></h2>
<table><thead><tr><th>started (UTC)</th><th>transport</th><th>outcome</th><th>turns</th>
<th>turn latency</th><th>flags</th><th></th></tr></thead><tbody>{table}</tbody></table>"""

    def _call_row(self, row: dict[str, Any]) -> str:
        call_id = esc(row["call_id"])
        spark = sparkline_svg(row["turn_latencies"],
                              budget=self._budgets.get("turn_latency_ms", 800.0))
        return (
            f'<tr class="{"flagged" if row["flagged"] else ""}">'
            f"<td>{_when(row['started_at'])}</td><td>{esc(row['transport'])}</td>"
            f"<td>{esc(row['outcome'] or 'in progress')}</td><td>{row['turn_count']}</td>"
            f"<td>{spark}</td><td>{_flags(row['flags'])}</td>"
            f'<td><a href="/calls/{call_id}">{call_id}</a></td></tr>'
        )

    async def call(self, request: Request) -> HTMLResponse:
        recorder = self._recorder()
        call_id = request.path_params["call_id"]
        detail = None
        if recorder is not None:
            if refused := await self._audited(request, "view_call", call_id):
                return refused
            try:
                detail = await run_in_threadpool(queries.call_detail, recorder.reader(), call_id)
            except SQLAlchemyError as err:
                return _unavailable(err)
        if detail is None:
            return HTMLResponse(f"<!doctype html><p>No record of call {esc(call_id)}. "
                                f'<a href="/calls">All calls</a></p>', status_code=404)
        return _page(f"call {call_id}", self._call_body(detail))

    def _call_body(self, detail: dict[str, Any]) -> str:
        call = detail["call"]
        turns = "".join(self._turn(t) for t in detail["turns"]) or (
            '<p class="muted">no turns recorded</p>')
        events = "".join(
            f"<tr><td>{_seconds(e['at_ms'])}</td>"
            f"<td>{esc(e['kind'])}</td><td><code>{esc(_describe(e['data']))}</code></td></tr>"
            for e in detail["events"]
        ) or '<tr><td colspan="3" class="muted">none</td></tr>'
        providers = " · ".join(esc(call[k] or "?") for k in
                               ("stt_provider", "llm_provider", "tts_provider"))
        return f"""<p><a href="/calls">← all calls</a></p>
<h1>Call {esc(call['call_id'])} {_flags(call['flags'])}</h1>
<table>
<tr><th>transport</th><td>{esc(call['transport'])}</td><th>caller</th>
<td>{esc(call['caller'] or '—')}</td></tr>
<tr><th>started (UTC)</th><td>{_when(call['started_at'])}</td><th>ended</th>
<td>{_when(call['ended_at'])}</td></tr>
<tr><th>outcome</th><td>{esc(call['outcome'] or 'in progress')}</td><th>end reason</th>
<td>{esc(call['end_reason'] or '—')}</td></tr>
<tr><th>providers</th><td colspan="3">{providers}</td></tr>
<tr><th>STT reconnections</th><td>{call['stt_reconnections']}</td><th>turns</th>
<td>{call['turn_count']}</td></tr>
</table>
<h2>Transcript and latency, turn by turn</h2>
<p class="muted">Waterfalls are in ms from the end of the caller's speech (dashed line).
The red line, where present, is voice-to-voice as the caller's client measured it.</p>
{turns}
<h2>Events</h2>
<table><thead><tr><th>at</th><th>kind</th><th>detail</th></tr></thead><tbody>{events}</tbody>
</table>"""

    def _turn(self, turn: dict[str, Any]) -> str:
        heard, reply = turn["heard"] or "", turn["reply"] or ""
        cut = reply[len(heard):] if turn["barge_in"] and reply.startswith(heard) else ""
        agent = esc(heard) + (f' <span class="cut">{esc(cut)}</span>' if cut else "")
        figures = " · ".join(
            f"{name.removesuffix('_ms')} {_ms(turn[name])}"
            for name in COMPONENTS if turn.get(name) is not None
        )
        confidence = turn["stt_confidence"]
        conf = "" if confidence is None else f" · STT confidence {confidence:.2f}"
        return f"""<section class="turn" id="turn-{turn['turn_index']}">
<h3>Turn {turn['turn_index'] + 1} <span class="muted">[{esc(turn['outcome'])}]</span></h3>
<p class="said"><b>caller</b> {esc(turn['transcript']) or '<i class="muted">nothing</i>'}</p>
<p class="said"><b>agent</b> {agent or '<i class="muted">nothing</i>'}</p>
{waterfall_svg(turn['waterfall'] or [], voice_to_voice_ms=turn['voice_to_voice_ms'])}
<p class="figures">{figures}{conf}</p>
</section>"""


def _unavailable(err: SQLAlchemyError) -> HTMLResponse:
    # A database outage: calls go on (their records wait in the spool); only this page waits.
    first = str(err).splitlines()[0][:300]
    response = _page("voxline calls", "<h1>Calls</h1><p>The records database cannot be read "
                     f"right now: <code>{esc(first)}</code>. Records made meanwhile are kept "
                     "in the spool file and written when it is back.</p>")
    response.status_code = 503
    return response


def _describe(data: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (data or {}).items())
