"""The caller over SIP: its own UAC on voxline.protocols.sip, media on rtp_media.

    INVITE (SDP: PCMU, PCMA, telephone-event) ─► 1xx ─► 401/407: INVITE again with digest
    credentials ─► 2xx: ACK (re-sent for every 2xx copy), RTP both ways on the answer's codec
    ... the script ... BYE ─► 200.   A BYE from the server ends the call (answered 200).

Target: ``sip:agent@host:port`` (UDP; port 5060 if left out). setup_ms: INVITE sent -> 2xx
received. The transaction layer (retransmissions, timers) is the server's own SipEndpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from array import array

from voxline.bench.caller.errors import TargetError, UnreachableError
from voxline.bench.caller.line import CallerLine
from voxline.bench.caller.rtp_media import RtpMedia
from voxline.protocols.sip.auth import digest_authorization
from voxline.protocols.sip.dialog import Dialog, new_tag
from voxline.protocols.sip.headers import SipHeaderError, parse_uri
from voxline.protocols.sip.message import Headers, Request, Response, response_to
from voxline.protocols.sip.sdp import SdpError, build_offer, negotiate, parse_sdp
from voxline.protocols.sip.transaction import ClientInviteTransaction, ClientTransaction
from voxline.tasks import cancel_and_wait
from voxline.transports.sip.endpoint import SipEndpoint

FRAME_S = 0.02
MAX_LATE_FRAMES = 10
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"
BYE_TIMEOUT_S = 5.0


def _local_address(host: str, port: int) -> str:
    """The address this host would send from to reach `host` (no packet is sent)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, port))
        except OSError as err:
            raise UnreachableError(f"no route to {host}:{port}: {err}") from err
        return probe.getsockname()[0]


class SipCall:
    def __init__(self, line: CallerLine, target: str, *, username: str | None = None,
                 password: str | None = None) -> None:
        try:
            uri = parse_uri(target)
        except SipHeaderError as err:
            raise TargetError(f"{target!r} is not a SIP URI (sip:agent@host:port): {err}") \
                from err
        if uri.scheme != "sip":
            raise TargetError(f"{target!r}: the sip transport dials sip: URIs over UDP")
        self.line = line
        self.target = target
        self.addr = (uri.host.strip("[]"), uri.port or 5060)
        self.username, self.password = username, password
        self.endpoint: SipEndpoint | None = None
        self.media = RtpMedia(line.on_agent_audio)
        self.dialog: Dialog | None = None
        self.call_id = f"{secrets.token_hex(10)}@voxline-caller"
        self.local_tag = new_tag()
        self.setup_ms: float | None = None
        self.final_status: int | None = None
        self.sent_at = array("d")  # when each RTP packet was sent, by its index in the call
        self._tasks: list[asyncio.Task[None]] = []

    # -- the UA core the endpoint calls ---------------------------------------------------------

    def on_request(self, request: Request, tx, addr) -> None:
        assert self.endpoint is not None
        in_dialog = self.dialog is not None and self.dialog.matches(request)
        if request.method == "BYE" and in_dialog:
            self.endpoint.respond(tx, response_to(request, 200))
            self.line.hang_up_seen("server")
        elif request.method == "OPTIONS":
            self.endpoint.respond(tx, response_to(request, 200, headers=[("Allow", ALLOW)]))
        elif request.method == "INVITE" and in_dialog:
            # A re-INVITE (hold, refresh): keep our media as it is and say so.
            self.endpoint.respond(tx, response_to(request, 488))
        else:
            self.endpoint.respond(tx, response_to(request, 481 if request.to.tag else 405))

    def on_ack(self, ack: Request, addr) -> None:
        pass

    def on_cancel(self, cancel: Request, tx, addr) -> None:
        assert self.endpoint is not None
        self.endpoint.respond(tx, response_to(cancel, 481))

    def on_timeout(self, tx: ClientInviteTransaction | ClientTransaction) -> None:
        pass

    # -- dialling ------------------------------------------------------------------------------

    async def dial(self) -> None:
        loop = asyncio.get_running_loop()
        local = _local_address(*self.addr)
        _, endpoint = await loop.create_datagram_endpoint(lambda: SipEndpoint(self),
                                                          local_addr=(local, 0))
        self.endpoint = endpoint
        await loop.create_datagram_endpoint(lambda: self.media, local_addr=(local, 0))
        offer = build_offer(local, self.media.port, secrets.randbelow(2**31), 1)
        body = offer.to_text().encode()
        began = time.monotonic()
        invite = self._invite(1, body, None)
        responses, response = await self._final(invite)
        if response.status in (401, 407):
            if not (self.username and self.password):
                raise UnreachableError(f"{self.target} asks for digest credentials "
                                       f"({response.status}): pass a SIP username and password")
            invite = self._invite(2, body, response)
            responses, response = await self._final(invite)
        self.final_status = response.status
        if response.status == 408:
            raise UnreachableError(f"no answer from {self.addr[0]}:{self.addr[1]} over SIP/UDP; "
                                   "is `voxline serve` running with VOXLINE_SIP__ENABLED=true?")
        if not 200 <= response.status < 300:
            raise UnreachableError(f"{self.target} refused the call: {response.status} "
                                   f"{response.reason}")
        self.setup_ms = round((time.monotonic() - began) * 1000, 1)
        self.dialog = Dialog.as_uac(invite, response)
        ack = self.dialog.request("ACK", self.endpoint.via(), cseq=invite.cseq[0]).to_bytes()
        self.endpoint.send(ack, self._dialog_addr())
        try:
            plan = negotiate(parse_sdp(response.body))
        except SdpError as err:
            await self.hang_up()
            raise UnreachableError(f"{self.target} answered with unusable SDP: {err}") from err
        self.media.use(plan.codec, plan.payload_type, (plan.remote_address, plan.remote_port))
        self._tasks = [asyncio.create_task(self._ticker()),
                       asyncio.create_task(self._re_ack(responses, ack))]

    def _invite(self, cseq: int, body: bytes, challenge: Response | None) -> Request:
        assert self.endpoint is not None
        host, port = self.endpoint.address
        headers = Headers()
        headers.add("Via", self.endpoint.via())
        headers.add("Max-Forwards", "70")
        headers.add("From", f"<sip:caller@{host}>;tag={self.local_tag}")
        headers.add("To", f"<{self.target}>")
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} INVITE")
        headers.add("Contact", f"<sip:caller@{host}:{port}>")
        headers.add("Allow", ALLOW)
        headers.add("User-Agent", "voxline-caller")
        headers.add("Content-Type", "application/sdp")
        if challenge is not None:
            proxy = challenge.status == 407
            value = challenge.headers.get("Proxy-Authenticate" if proxy else "WWW-Authenticate")
            if not value:
                raise UnreachableError(f"{self.target} sent {challenge.status} without a "
                                       "challenge header")
            try:
                credentials = digest_authorization(value, username=self.username or "",
                                                   password=self.password or "",
                                                   method="INVITE", uri=self.target)
            except SipHeaderError as err:
                raise UnreachableError(f"cannot answer {self.target}'s challenge: {err}") \
                    from err
            headers.add("Proxy-Authorization" if proxy else "Authorization", credentials)
        return Request(headers, body, "INVITE", self.target)

    async def _final(self, invite: Request) -> tuple[asyncio.Queue[Response], Response]:
        assert self.endpoint is not None
        responses = await self.endpoint.request(invite, self.addr)
        while True:
            response = await responses.get()
            if response.status >= 200:
                return responses, response

    async def _re_ack(self, responses: asyncio.Queue[Response], ack: bytes) -> None:
        """13.2.2.4: every retransmitted 2xx gets the ACK again."""
        assert self.endpoint is not None
        while True:
            response = await responses.get()
            if 200 <= response.status < 300:
                self.endpoint.send(ack, self._dialog_addr())

    def _dialog_addr(self) -> tuple[str, int]:
        """Where in-dialog requests go: the server's Contact (its remote target)."""
        if self.dialog is not None:
            with contextlib.suppress(SipHeaderError):
                uri = parse_uri(self.dialog.remote_target)
                return uri.host.strip("[]"), uri.port or 5060
        return self.addr

    # -- media and hanging up --------------------------------------------------------------------

    async def _ticker(self) -> None:
        base, tick = time.monotonic(), 0
        while not self.line.ended.is_set():
            delay = base + tick * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > MAX_LATE_FRAMES * FRAME_S:
                base, tick = time.monotonic(), 0
            now = time.monotonic()
            self.media.send(self.line.next_frame(now))
            self.sent_at.append(now)
            self.line.sequence_gaps = self.media.sequence_gaps
            tick += 1

    async def hang_up(self) -> None:
        if self.dialog is not None and self.endpoint is not None and not self.line.ended.is_set():
            bye = self.dialog.request("BYE", self.endpoint.via())
            responses = await self.endpoint.request(bye, self._dialog_addr())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(BYE_TIMEOUT_S):
                    while (await responses.get()).status < 200:
                        pass
            self.line.hang_up_seen("caller")
        await self.close()

    async def close(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
        self.media.close()
        if self.endpoint is not None:
            self.endpoint.close()
