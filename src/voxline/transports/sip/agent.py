"""The SIP user agent: trunk access control, new calls, and routing of in-dialog requests.

Requests from a source outside `allow_from` get 403; with `auth_users` set, a new INVITE must
answer a digest challenge (401 or 407). An INVITE whose SDP has no codec we speak gets 488, one
whose SDP cannot be read 400, and one that arrives when the models are not loaded or the worker
is full 503 with Retry-After. Everything else about a call lives in inbound.InboundCall.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from voxline.agent.tools import Toolbox
from voxline.config import Settings
from voxline.protocols.sip.auth import DigestAuthenticator
from voxline.protocols.sip.dialog import new_tag
from voxline.protocols.sip.message import Request, Response, response_to
from voxline.protocols.sip.sdp import NoCommonCodec, SdpError, negotiate, parse_sdp
from voxline.protocols.sip.transaction import (
    ServerInviteTransaction,
    ServerTransaction,
    Timers,
)
from voxline.providers.registry import Providers
from voxline.telemetry.logs import bind_call, call_logging
from voxline.transports.sip.endpoint import Addr, AnyTransaction, SipEndpoint
from voxline.transports.sip.inbound import ALLOW, InboundCall, SipCallSummary
from voxline.transports.sip.ports import RtpPorts

log = logging.getLogger(__name__)

FINISHED_KEPT = 100  # summaries of ended calls kept in memory
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()  # none: any Require gets 420


class SipAgent:
    def __init__(
        self,
        settings: Settings,
        providers: Callable[[], Providers | None],
        toolbox: Callable[[], Toolbox] | None = None,
        timers: Timers | None = None,
        on_ended: Callable[[SipCallSummary], None] | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.sip
        self._providers = providers
        self._toolbox = toolbox
        self._on_ended = on_ended  # e.g. telemetry's transport_ended, with our end reason
        self.endpoint = SipEndpoint(self, timers)
        self.ports = RtpPorts(self.config.media_address, self.config.rtp_port_min,
                              self.config.rtp_port_max)
        self._allowed = [ipaddress.ip_network(n) for n in self.config.allow_from]
        users = {u: p.get_secret_value() for u, p in self.config.auth_users.items()}
        self.auth = DigestAuthenticator(self.config.auth_realm, users) if users else None
        self.calls: dict[tuple[str, str], InboundCall] = {}
        self._by_invite: dict[int, InboundCall] = {}  # id(INVITE transaction) -> its call
        self.finished: deque[SipCallSummary] = deque(maxlen=FINISHED_KEPT)
        self._tasks: set[asyncio.Future[Any]] = set()
        self.refused: dict[str, int] = {"forbidden": 0, "unauthorized": 0, "busy": 0,
                                        "codec": 0, "bad_sdp": 0}

    # -- life ------------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(
            lambda: self.endpoint, local_addr=(self.config.host, self.config.port))
        log.info("sip listening on udp %s:%d", *self.endpoint.address)

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            call.hang_up("local")
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        self.endpoint.close()

    @property
    def port(self) -> int:
        return self.endpoint.address[1]

    @property
    def contact(self) -> str:
        return f"<sip:voxline@{self.config.media_address}:{self.port}>"

    def providers_now(self) -> Providers:
        providers = self._providers()
        assert providers is not None, "a call was accepted before the models were ready"
        return providers

    def toolbox_now(self) -> Toolbox | None:
        return self._toolbox() if self._toolbox else None

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a reference to a background task until it finishes."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def describe(self) -> dict[str, Any]:
        return {
            "name": "sip",
            "listening": f"udp {self.config.host}:{self.port}",
            "active_calls": len(self.calls),
            "max_calls": self.config.max_calls,
            "auth": self.auth is not None,
            "messages": dict(self.endpoint.counts),
            "refused": dict(self.refused),
        }

    # -- the endpoint's callbacks ----------------------------------------------------------------

    def on_request(self, request: Request, tx: ServerTransaction | ServerInviteTransaction,
                   addr: Addr) -> None:
        if not self._source_allowed(addr):
            self.refused["forbidden"] += 1
            log.warning("sip: %s from %s refused: not in allow_from", request.method, addr[0])
            self.endpoint.respond(tx, response_to(request, 403, to_tag=new_tag()))
            return
        to_tag = request.to.tag
        if to_tag is not None:
            call = self.calls.get((request.call_id, to_tag))
            if call is None:
                status = 200 if request.method == "OPTIONS" else 481
                reply = self.options_response(request) if status == 200 else \
                    response_to(request, 481)
                self.endpoint.respond(tx, reply)
                return
            with call_logging(call.call.call_id, "sip"):
                call.on_request(request, tx)
        elif request.method == "INVITE" and isinstance(tx, ServerInviteTransaction):
            self._new_call(request, tx, addr)
        elif request.method == "OPTIONS":
            self.endpoint.respond(tx, self.options_response(request))
        elif request.method == "BYE":
            self.endpoint.respond(tx, response_to(request, 481))
        elif request.method in ("REGISTER", "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE",
                                "INFO", "UPDATE", "REFER", "PRACK"):
            self.endpoint.respond(tx, response_to(request, 405, to_tag=new_tag(),
                                                  headers=[("Allow", ALLOW)]))
        else:
            self.endpoint.respond(tx, response_to(request, 501, to_tag=new_tag(),
                                                  headers=[("Allow", ALLOW)]))

    def on_ack(self, ack: Request, addr: Addr) -> None:
        if not self._source_allowed(addr):
            return  # an ACK is never answered; from outside the allowlist it changes nothing
        call = self.calls.get((ack.call_id, ack.to.tag or ""))
        if call is not None:
            with call_logging(call.call.call_id, "sip"):
                call.on_ack()

    def on_cancel(self, cancel: Request, tx: ServerTransaction, addr: Addr) -> None:
        if not self._source_allowed(addr):
            self.refused["forbidden"] += 1
            self.endpoint.respond(tx, response_to(cancel, 403, to_tag=new_tag()))
            return
        invite_tx = self.endpoint.find_invite(cancel)
        call = self._by_invite.get(id(invite_tx)) if invite_tx is not None else None
        if call is None:
            self.endpoint.respond(tx, response_to(cancel, 481))
            return
        self.endpoint.respond(tx, response_to(cancel, 200, to_tag=call.local_tag))
        with call_logging(call.call.call_id, "sip"):
            call.on_cancel()

    def on_timeout(self, tx: AnyTransaction) -> None:
        call = self._by_invite.get(id(tx))
        if call is not None:
            with call_logging(call.call.call_id, "sip"):
                call.on_timeout()

    # -- outbound calls --------------------------------------------------------------------------

    async def dial(self, target: str | None = None, *, username: str | None = None,
                   password: str | None = None) -> SipCallSummary:
        """Call `target` (default: the trunk URI) and run the agent on the call until either
        side hangs up. Credentials default to the trunk's, for a 401/407 challenge."""
        from voxline.transports.sip.outbound import DialError, OutboundCall

        target = target or self.config.trunk_uri
        if target is None:
            raise DialError("no target: pass one or set VOXLINE_SIP__TRUNK_URI")
        if self._providers() is None:
            raise DialError("the models are not loaded yet: wait for /readyz")
        secret = self.config.trunk_password
        call = OutboundCall(
            self, target, username=username or self.config.trunk_username,
            password=password or (secret.get_secret_value() if secret else None))
        self.calls[call.key] = call
        try:
            with call_logging(call.call.call_id, "sip"):
                summary = await call.run()
        finally:
            self.calls.pop(call.key, None)
        self.finished.append(summary)
        log.info(summary.log_line())
        if self._on_ended is not None:
            self._on_ended(summary)
        return summary

    # -- new calls -------------------------------------------------------------------------------

    def _new_call(self, invite: Request, tx: ServerInviteTransaction, addr: Addr) -> None:
        self.endpoint.respond(tx, response_to(invite, 100))  # stops the caller's Timer A
        if not self._authorized(invite, tx):
            return
        required = {r.strip() for r in invite.headers.get_all("Require")}
        if required - SUPPORTED_EXTENSIONS:
            self._refuse(invite, tx, 420, [("Unsupported", ", ".join(sorted(required)))])
            return
        if self._providers() is None or len(self.calls) >= self.config.max_calls:
            self.refused["busy"] += 1
            self._refuse(invite, tx, 503, [("Retry-After", "5")])
            return
        try:
            if invite.content_type != "application/sdp" or not invite.body:
                raise SdpError("the INVITE carries no SDP offer (delayed offer is not supported)")
            offer = parse_sdp(invite.body)
            plan = negotiate(offer)
        except NoCommonCodec as err:
            self.refused["codec"] += 1
            log.warning("sip: call refused with 488: %s", err)
            self._refuse(invite, tx, 488, [("Warning", f'305 voxline "{_safe(err)}"')])
            return
        except SdpError as err:
            self.refused["bad_sdp"] += 1
            log.warning("sip: call refused with 488: %s", err)
            self._refuse(invite, tx, 488, [("Warning", f'399 voxline "{_safe(err)}"')])
            return
        call = InboundCall(self, invite, tx, addr, offer, plan)
        self.calls[call.key] = call
        self._by_invite[id(tx)] = call
        self.keep(asyncio.ensure_future(self._run(call, tx)))

    async def _run(self, call: InboundCall, tx: ServerInviteTransaction) -> None:
        bind_call(call.call.call_id, "sip")  # this task's lines, the summary's included
        try:
            summary = await call.run()
        finally:
            self.calls.pop(call.key, None)
            # The INVITE transaction may outlive the call (Timer L): keep the CANCEL and
            # timeout lookups until it is gone, but no longer than that.
            self._by_invite.pop(id(tx), None)
        self.finished.append(summary)
        log.info(summary.log_line())
        if self._on_ended is not None:
            self._on_ended(summary)

    def _authorized(self, invite: Request, tx: ServerInviteTransaction) -> bool:
        if self.auth is None:
            return True
        proxy = self.config.auth_challenge == "proxy"
        header = invite.headers.get("Proxy-Authorization" if proxy else "Authorization")
        result = self.auth.check(header, "INVITE")
        if result.ok:
            return True
        self.refused["unauthorized"] += 1
        if header:
            log.warning("sip: INVITE credentials refused: %s", result.reason)
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        self._refuse(invite, tx, 407 if proxy else 401,
                     [(name, self.auth.challenge(stale=result.stale))])
        return False

    def _refuse(self, invite: Request, tx: ServerInviteTransaction, status: int,
                headers: list[tuple[str, str]]) -> None:
        self.endpoint.respond(tx, response_to(invite, status, to_tag=new_tag(), headers=headers))

    def _source_allowed(self, addr: Addr) -> bool:
        try:
            ip = ipaddress.ip_address(addr[0])
        except ValueError:
            return False
        return any(ip in network for network in self._allowed)

    def options_response(self, request: Request) -> Response:
        return response_to(request, 200, to_tag=new_tag(), headers=[
            ("Allow", ALLOW), ("Accept", "application/sdp"), ("Contact", self.contact),
        ])


def _safe(err: Exception) -> str:
    return "".join(ch for ch in str(err)[:120] if ch.isprintable() and ch not in '"\\')
