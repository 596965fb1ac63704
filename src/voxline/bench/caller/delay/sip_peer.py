"""A delay agent behind SIP: a UAS on voxline.protocols.sip that answers INVITEs (with a digest
challenge first, if given users), then plays DelayBrain's tone over RTP in paced 20 ms packets
and hears the caller's RTP. `hang_up_after_s` makes it send BYE itself, to test a caller
whose far end hangs up."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from voxline.bench.caller.delay.brain import DelayBrain
from voxline.bench.caller.rtp_media import RATE, RtpMedia
from voxline.protocols.sip.auth import DigestAuthenticator
from voxline.protocols.sip.dialog import Dialog, new_tag
from voxline.protocols.sip.headers import parse_uri
from voxline.protocols.sip.message import Request, response_to
from voxline.protocols.sip.sdp import build_answer, negotiate, parse_sdp
from voxline.transports.sip.endpoint import SipEndpoint

FRAME_S = 0.02


@dataclass
class _PeerCall:
    brain: DelayBrain
    media: RtpMedia
    dialog: Dialog
    caller: tuple[str, int]
    sender: asyncio.Task[None] | None = None
    ended_by: str | None = None


@dataclass
class SipDelayAgent:
    delay_ms: float
    stop_ms: float
    tone_ms: float
    users: dict[str, str] = field(default_factory=dict)
    hang_up_after_s: float | None = None
    uri: str = ""
    calls: list[_PeerCall] = field(default_factory=list)
    challenges: int = 0
    endpoint: SipEndpoint | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _auth: DigestAuthenticator | None = None

    @property
    def brains(self) -> list[DelayBrain]:
        return [call.brain for call in self.calls]

    def on_request(self, request: Request, tx, addr) -> None:
        assert self.endpoint is not None
        if request.method == "INVITE" and request.to.tag is None:
            self._task(self._answer(request, tx, addr))
        elif request.method == "BYE":
            call = self._call_of(request)
            self.endpoint.respond(tx, response_to(request, 200 if call else 481))
            if call is not None:
                self._end(call, "caller")
        else:
            self.endpoint.respond(tx, response_to(request, 200 if request.method == "OPTIONS"
                                                  else 481))

    def on_ack(self, ack: Request, addr) -> None:
        pass

    def on_cancel(self, cancel: Request, tx, addr) -> None:
        assert self.endpoint is not None
        self.endpoint.respond(tx, response_to(cancel, 481))

    def on_timeout(self, tx) -> None:
        pass

    async def _answer(self, invite: Request, tx, addr) -> None:
        assert self.endpoint is not None
        if self.users:
            if self._auth is None:
                self._auth = DigestAuthenticator("delay-agent", self.users)
            auth = self._auth
            if not auth.check(invite.headers.get("Authorization"), "INVITE").ok:
                self.challenges += 1
                self.endpoint.respond(tx, response_to(
                    invite, 401, to_tag=new_tag(),
                    headers=[("WWW-Authenticate", auth.challenge())]))
                return
        offer = parse_sdp(invite.body)
        plan = negotiate(offer)
        brain = DelayBrain(RATE, self.delay_ms, self.stop_ms, self.tone_ms)
        media = RtpMedia(brain.hear)
        loop = asyncio.get_running_loop()
        host = self.endpoint.address[0]
        await loop.create_datagram_endpoint(lambda: media, local_addr=(host, 0))
        media.use(plan.codec, plan.payload_type, (plan.remote_address, plan.remote_port))
        tag = new_tag()
        dialog = Dialog.as_uas(invite, tag)
        contact = parse_uri(dialog.remote_target)
        call = _PeerCall(brain, media, dialog, (contact.host, contact.port or 5060))
        self.calls.append(call)
        answer = build_answer(offer, plan, host, media.port, secrets.randbelow(2**31), 1)
        port = self.endpoint.address[1]
        self.endpoint.respond(tx, response_to(
            invite, 200, to_tag=tag, body=answer.to_text().encode(),
            headers=[("Contact", f"<sip:agent@{host}:{port}>"),
                     ("Content-Type", "application/sdp")]))
        call.sender = self._task(_send(call))
        if self.hang_up_after_s is not None:
            self._task(self._hang_up_later(call))

    async def _hang_up_later(self, call: _PeerCall) -> None:
        assert self.endpoint is not None and self.hang_up_after_s is not None
        await asyncio.sleep(self.hang_up_after_s)
        if call.ended_by is None:
            bye = call.dialog.request("BYE", self.endpoint.via())
            await self.endpoint.request(bye, call.caller)
            self._end(call, "agent")

    def _call_of(self, request: Request) -> _PeerCall | None:
        return next((c for c in self.calls if c.dialog.matches(request)), None)

    def _end(self, call: _PeerCall, by: str) -> None:
        call.ended_by = call.ended_by or by
        if call.sender is not None:
            call.sender.cancel()
        call.media.close()

    def _task(self, coroutine) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _send(call: _PeerCall) -> None:
    """Paced 20 ms packets (silence between tones, as a phone line carries); more than a frame
    behind, the schedule restarts from now rather than sending the backlog."""
    base, tick = time.monotonic(), 0
    silence = bytes(2 * RATE // 50)
    while True:
        at = base + tick * FRAME_S
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > FRAME_S:
            base, tick = time.monotonic(), 0
            at = base
        pcm = call.brain.frame(at)
        call.media.send(pcm if pcm is not None else silence)
        if pcm is not None:
            call.brain.sent(at, time.monotonic())
        tick += 1


@asynccontextmanager
async def sip_delay_agent(delay_ms: float, stop_ms: float = 0.0, tone_ms: float = 1500.0, *,
                          users: dict[str, str] | None = None,
                          hang_up_after_s: float | None = None) -> AsyncIterator[SipDelayAgent]:
    agent = SipDelayAgent(delay_ms, stop_ms, tone_ms, dict(users or {}), hang_up_after_s)
    loop = asyncio.get_running_loop()
    _, endpoint = await loop.create_datagram_endpoint(lambda: SipEndpoint(agent),
                                                      local_addr=("127.0.0.1", 0))
    agent.endpoint = endpoint
    agent.uri = f"sip:agent@127.0.0.1:{endpoint.address[1]}"
    try:
        yield agent
    finally:
        for call in agent.calls:
            agent._end(call, "stopped")
        for task in list(agent._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*agent._tasks, return_exceptions=True)
        endpoint.close()
