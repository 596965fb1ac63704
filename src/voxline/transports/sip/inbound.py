"""One inbound SIP call: the dialog, its media and its `Call`, from INVITE to BYE.

    INVITE ─► 100 Trying (the agent) ─► RTP ports bound ─► 180 Ringing ─► (ring_ms) ─► 200 + SDP
    ACK    ─► the 2xx stops; none within 64*T1: BYE, the call ends
    CANCEL ─► before the 200: 487 to the INVITE, the call ends unanswered
    INVITE ─► (in the dialog) re-INVITE: new SDP answer; hold (sendonly/inactive) stops our RTP
    BYE    ─► 200, the call hangs up, its records are kept
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voxline.protocols.sip.dialog import Dialog, DialogError, new_tag
from voxline.protocols.sip.message import Request, Response, response_to
from voxline.protocols.sip.sdp import (
    AudioPlan,
    NoCommonCodec,
    SdpError,
    SessionDescription,
    build_answer,
    negotiate,
    parse_sdp,
)
from voxline.protocols.sip.transaction import ServerInviteTransaction, ServerTransaction
from voxline.session.call import Call, CallEvent
from voxline.session.record import TurnRecord
from voxline.transports.sip.audio import WIRE_RATE
from voxline.transports.sip.media import MediaSession, MediaStats

if TYPE_CHECKING:
    from voxline.transports.sip.agent import SipAgent

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS"


@dataclass
class SipCallSummary:
    """What one SIP call did. The records hold personal data (transcripts); `log_line` does
    not: no numbers, no names, no digits."""

    call_id: str  # voxline's id for the call
    sip_call_id: str
    ended_by: str  # bye | cancel | no_ack | local | error | rejected
    answered: bool
    codec: str
    records: list[TurnRecord]
    dtmf_digits: list[str]
    media: MediaStats
    holds: int = 0
    jitter_ms: float = 0.0
    concealed_frames: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    inbound: dict[str, int | None] = field(default_factory=dict)  # MediaSession.inbound_summary

    def log_line(self) -> str:
        outcomes = Counter(r.outcome for r in self.records)
        m = self.media
        return (
            f"call ended: call_id={self.call_id} transport=sip ended_by={self.ended_by} "
            f"answered={self.answered} codec={self.codec} turns={len(self.records)} "
            f"outcomes={dict(outcomes)} dtmf_keys={len(self.dtmf_digits)} holds={self.holds} "
            f"rtp_in={m.packets_in} rtp_out={m.packets_out} agent_packets={m.audio_packets_out} "
            f"ignored_source={m.ignored_source} bad={m.bad_packets} "
            f"jitter_ms={self.jitter_ms:.1f} concealed={self.concealed_frames}"
        )


class InboundCall:
    def __init__(self, agent: SipAgent, invite: Request, tx: ServerInviteTransaction,
                 addr: tuple[str, int], offer: SessionDescription, plan: AudioPlan) -> None:
        self.agent = agent
        self.invite = invite
        self.tx: ServerInviteTransaction | None = tx  # the INVITE (or re-INVITE) we answer
        self.addr = addr
        self.local_tag = new_tag()
        self.dialog = Dialog.as_uas(invite, self.local_tag)
        # The caller's IP, as the WebRTC transport gives the page's: never the From number.
        self.call = Call(agent.providers_now(), agent.settings, transport="sip",
                         toolbox=agent.toolbox_now(), caller=addr[0],
                         transport_ref=self.dialog.call_id, caller_rate=WIRE_RATE)
        self.media = MediaSession(self.call, plan, signalling_host=addr[0])
        self.call.out.on_playable = self.media.wake
        self.call.observe(self._on_call_event)
        self._offer = offer
        self._session_id = secrets.randbelow(2**31)
        self._version = 1
        self._port: int | None = None
        self._ended = asyncio.Event()
        self.ended_by = "error"
        self.answered = False
        self.holds = 0

    @property
    def key(self) -> tuple[str, str]:
        return self.dialog.call_id, self.local_tag

    # -- the call's life -------------------------------------------------------------------------

    async def run(self) -> SipCallSummary:
        try:
            if await self._answer():
                await self._connected()
        except Exception:  # a fault in one call never reaches another
            log.exception("call %s: sip call failed", self.call.call_id)
            self.ended_by = "error"
            if not self.answered and self._invite_open:
                self._respond_invite(500)
            elif self.answered:
                self._send_bye()
        finally:
            self.media.close()
            if self._port is not None:
                self.agent.ports.release(self._port)
        return self._summary()

    async def _answer(self) -> bool:
        """Ring, then answer. False when the call ended first (CANCEL, a port shortage)."""
        try:
            self._port = await self.agent.ports.bind(self.media)
        except RuntimeError as err:
            log.warning("call %s: %s; answering 503", self.call.call_id, err)
            self.ended_by = "rejected"
            self._respond_invite(503, headers=[("Retry-After", "5")])
            return False
        self._respond_invite(180)
        if self.agent.settings.sip.ring_ms:
            try:
                async with asyncio.timeout(self.agent.settings.sip.ring_ms / 1000):
                    await self._ended.wait()
            except TimeoutError:
                pass
        if self._ended.is_set():
            return False
        body = self._answer_sdp(self.media.plan)
        self._respond_invite(200, body=body)
        self.answered = True
        log.info("call %s: sip call answered (%s, rtp port %d)", self.call.call_id,
                 self.media.plan.codec, self._port)
        return True

    async def _connected(self) -> None:
        async with asyncio.TaskGroup() as tg:
            engine = tg.create_task(self.call.run())
            media = tg.create_task(self.media.run())
            await self._ended.wait()
            self.call.hang_up()  # the engine finishes its records and returns
            media.cancel()
            await engine

    def end(self, ended_by: str) -> None:
        if not self._ended.is_set():
            self.ended_by = ended_by
            self._ended.set()

    # -- requests in the dialog ------------------------------------------------------------------

    @property
    def _invite_open(self) -> bool:
        """The last INVITE we serve still takes (or retransmits) a response."""
        return self.tx is not None and not self.tx.terminated

    def on_ack(self) -> None:
        if self.tx is not None:
            self.agent.endpoint.ack_2xx(self.tx)

    def on_cancel(self) -> bool:
        """A CANCEL for our INVITE. True when it stopped the call (not answered yet)."""
        if self.answered or not self._invite_open:
            return False  # too late: the 200 went out; the caller must BYE (9.2)
        self._respond_invite(487)
        self.end("cancel")
        return True

    def on_request(self, request: Request, tx: ServerTransaction | ServerInviteTransaction) -> None:
        try:
            self.dialog.accept_request(request)
        except DialogError as err:
            self.agent.endpoint.respond(tx, response_to(request, err.status))
            return
        if request.method == "BYE":
            self.agent.endpoint.respond(tx, response_to(request, 200))
            self.end("bye")
        elif request.method == "INVITE" and isinstance(tx, ServerInviteTransaction):
            self._reinvite(request, tx)
        elif request.method == "OPTIONS":
            self.agent.endpoint.respond(tx, self.agent.options_response(request))
        else:
            self.agent.endpoint.respond(
                tx, response_to(request, 405 if request.method in ("UPDATE", "INFO", "REFER")
                                else 501, headers=[("Allow", ALLOW)]))

    def _reinvite(self, request: Request, tx: ServerInviteTransaction) -> None:
        if self._invite_open and self.tx is not None and not self.tx.acknowledged:
            # The last INVITE is still waiting for its ACK (14.2: answer 491 and retry).
            self.agent.endpoint.respond(tx, response_to(request, 491, to_tag=self.local_tag))
            return
        if request.body:
            try:
                offer = parse_sdp(request.body)
                plan = negotiate(offer)
            except SdpError as err:
                status = 488 if isinstance(err, NoCommonCodec) else 400
                self.agent.endpoint.respond(tx, response_to(
                    request, status, to_tag=self.local_tag,
                    headers=[("Warning", f'304 voxline "{str(err)[:100]}"')]))
                return
            was_held = not self.media.plan.sending
            self._offer = offer
            self.media.update(plan)
            if not plan.sending and not was_held:
                self.holds += 1
                log.info("call %s: on hold (%s)", self.call.call_id, plan.direction)
            self._version += 1
        self.tx = tx
        self.agent.endpoint.respond(tx, self._ok(request, self._answer_sdp(self.media.plan)))

    def _on_call_event(self, event: CallEvent) -> None:
        if event.kind == "barge_in":
            self.media.barge_in()

    # -- sending ---------------------------------------------------------------------------------

    def _answer_sdp(self, plan: AudioPlan) -> bytes:
        assert self._port is not None
        sdp = build_answer(self._offer, plan, self.agent.settings.sip.media_address, self._port,
                           self._session_id, self._version)
        return sdp.to_text().encode()

    def _ok(self, request: Request, body: bytes) -> Response:
        return response_to(request, 200, to_tag=self.local_tag, body=body, headers=[
            ("Contact", self.agent.contact), ("Allow", ALLOW),
            ("Content-Type", "application/sdp"),
        ])

    def _respond_invite(self, status: int, *, body: bytes = b"",
                        headers: list[tuple[str, str]] | None = None) -> None:
        if status == 200:
            response = self._ok(self.invite, body)
        else:
            extra = list(headers or [])
            if 100 < status < 200:
                extra.append(("Contact", self.agent.contact))
            response = response_to(self.invite, status, to_tag=self.local_tag, headers=extra)
        if self.tx is not None:
            self.agent.endpoint.respond(self.tx, response)

    def _send_bye(self) -> None:
        bye = self.dialog.request("BYE", self.agent.endpoint.via())
        task = asyncio.ensure_future(self.agent.endpoint.request(bye, self.addr))
        self.agent.keep(task)

    def hang_up(self, ended_by: str = "local") -> None:
        """End the call from our side: BYE once answered, else 480 to the INVITE."""
        if self._ended.is_set():
            return
        if self.answered:
            self._send_bye()
        elif self._invite_open:
            self._respond_invite(480)
        self.end(ended_by)

    def on_timeout(self) -> None:
        """Our 2xx was never acknowledged: the caller is gone (13.3.1.4)."""
        if self.answered and self.tx is not None and not self.tx.acknowledged:
            log.warning("call %s: no ACK for the 200 within 64*T1; sending BYE",
                        self.call.call_id)
            self.hang_up("no_ack")

    def _summary(self) -> SipCallSummary:
        return SipCallSummary(
            call_id=self.call.call_id, sip_call_id=self.dialog.call_id, ended_by=self.ended_by,
            answered=self.answered, codec=self.media.plan.codec, records=self.call.records,
            dtmf_digits=list(self.call.dtmf_digits), media=self.media.stats, holds=self.holds,
            jitter_ms=self.media.reception.jitter_ms,
            concealed_frames=self.media.inbound.stats.concealed,
            inbound=self._inbound_summary(),
        )

    def _inbound_summary(self) -> dict[str, int | None]:
        """The media's word on inbound audio, with the engine's: a frame the engine dropped
        (its queue full) breaks the packet-to-position mapping from the start."""
        summary = self.media.inbound_summary()
        summary["engine_dropped"] = self.call.dropped_frames
        if self.call.dropped_frames:
            summary["exact_until_ms"] = 0
        return summary
