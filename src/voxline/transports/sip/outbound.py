"""One outbound SIP call (a dialer campaign's): INVITE with our offer, digest auth on a 401 or
407, ACK of the 2xx, then the same media, engine and in-dialog handling as an inbound call.

    INVITE (PCMU, PCMA, telephone-event) ─► 1xx ... ─► 401/407: INVITE again with credentials
                                         ─► 2xx: ACK, the answer's codec, the call runs
                                         ─► 3xx-6xx, or no answer in 64*T1: the call ends
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING

from voxline.protocols.sip.auth import digest_authorization
from voxline.protocols.sip.dialog import Dialog, new_tag
from voxline.protocols.sip.headers import SipHeaderError, parse_uri
from voxline.protocols.sip.message import Headers, Request, Response
from voxline.protocols.sip.sdp import AudioPlan, SdpError, build_offer, negotiate, parse_sdp
from voxline.session.call import Call
from voxline.transports.sip.audio import WIRE_RATE
from voxline.transports.sip.inbound import ALLOW, InboundCall
from voxline.transports.sip.media import MediaSession

if TYPE_CHECKING:
    from voxline.transports.sip.agent import SipAgent

log = logging.getLogger(__name__)


class DialError(ValueError):
    """A target we cannot call (not a sip: URI with an IP address)."""


class OutboundCall(InboundCall):
    """Shares the connected life of an inbound call; only the setup differs."""

    def __init__(self, agent: SipAgent, target: str, *, username: str | None = None,
                 password: str | None = None) -> None:
        try:
            uri = parse_uri(target)
        except SipHeaderError as err:
            raise DialError(f"{target!r} is not a SIP URI: {err}") from err
        if uri.scheme != "sip":
            raise DialError(f"{target!r}: only sip: URIs can be dialled")
        self.agent = agent
        self.target = target
        self.addr = (uri.host, uri.port or 5060)
        self._username, self._password = username, password
        self.local_tag = new_tag()
        self.tx = None  # set when the far end re-INVITEs us
        self.call = Call(agent.providers_now(), agent.settings, transport="sip",
                         toolbox=agent.toolbox_now(), caller=uri.host, caller_rate=WIRE_RATE)
        provisional = AudioPlan(0, "PCMU", 101, uri.host, 0, "sendrecv", 0)
        self.media = MediaSession(self.call, provisional, signalling_host=uri.host)
        self.call.out.on_playable = self.media.wake
        self.call.observe(self._on_call_event)
        self._session_id = secrets.randbelow(2**31)
        self._version = 1
        self._port = None
        self._ended = asyncio.Event()
        self.ended_by = "error"
        self.answered = False
        self.holds = 0
        self.final_status: int | None = None
        self.call_id = f"{secrets.token_hex(10)}@voxline"
        self.dialog = Dialog(self.call_id, self.local_tag, None, self._from(), f"<{target}>",
                             target)

    @property
    def key(self) -> tuple[str, str]:
        return self.call_id, self.local_tag

    def _from(self) -> str:
        return f"<sip:voxline@{self.agent.config.media_address}>"

    async def _answer(self) -> bool:
        """Dial: True once the far end answered and we acknowledged."""
        self._port = await self.agent.ports.bind(self.media)
        offer = build_offer(self.agent.config.media_address, self._port, self._session_id,
                            self._version).to_text().encode()
        self._offer = parse_sdp(offer)
        invite = self._invite(1, offer, None)
        for attempt in range(2):
            response = await self._final(invite)
            self.final_status = response.status
            if response.status in (401, 407) and attempt == 0 and self._password:
                invite = self._invite(2, offer, response)
                continue
            break
        if not 200 <= response.status < 300:
            log.info("call %s: outbound call got %d", self.call.call_id, response.status)
            self.ended_by = f"rejected:{response.status}"
            return False
        self.dialog = Dialog.as_uac(invite, response)
        self._ack(invite)
        try:
            answer = parse_sdp(response.body)
            self.media.update(negotiate(answer))
        except SdpError as err:
            log.warning("call %s: unusable SDP answer (%s); hanging up", self.call.call_id, err)
            self.answered = True
            self.hang_up("bad_answer")
            return False
        self.answered = True
        log.info("call %s: outbound call answered (%s)", self.call.call_id,
                 self.media.plan.codec)
        return True

    async def _final(self, invite: Request) -> Response:
        """Send the INVITE and wait for its final response; ringing may last minutes."""
        responses = await self.agent.endpoint.request(invite, self.addr)
        while True:
            response = await responses.get()
            if response.status >= 200:
                self._responses = responses
                return response

    def _invite(self, cseq: int, offer: bytes, challenge: Response | None) -> Request:
        headers = Headers()
        headers.add("Via", self.agent.endpoint.via())
        headers.add("Max-Forwards", "70")
        headers.add("From", f"{self._from()};tag={self.local_tag}")
        headers.add("To", f"<{self.target}>")
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} INVITE")
        headers.add("Contact", self.agent.contact)
        headers.add("Allow", ALLOW)
        headers.add("Content-Type", "application/sdp")
        if challenge is not None:
            proxy = challenge.status == 407
            value = challenge.headers.get("Proxy-Authenticate" if proxy else "WWW-Authenticate")
            if value and self._username and self._password:
                headers.add("Proxy-Authorization" if proxy else "Authorization",
                            digest_authorization(value, username=self._username,
                                                 password=self._password, method="INVITE",
                                                 uri=self.target))
        return Request(headers, offer, "INVITE", self.target)

    def _ack(self, invite: Request) -> None:
        """13.2.2.4: the ACK of a 2xx is its own request, sent by the dialog (not a
        transaction); 2xx copies that keep coming are acknowledged again."""
        ack = self.dialog.request("ACK", self.agent.endpoint.via(), cseq=invite.cseq[0])
        data = ack.to_bytes()
        self.agent.endpoint.send(data, self.addr)

        async def re_ack() -> None:
            while True:
                response = await self._responses.get()
                if 200 <= response.status < 300:
                    self.agent.endpoint.send(data, self.addr)

        task = asyncio.ensure_future(re_ack())
        self.agent.keep(task)
        self._re_ack = task

    def end(self, ended_by: str) -> None:
        super().end(ended_by)
        if getattr(self, "_re_ack", None) is not None:
            self._re_ack.cancel()
