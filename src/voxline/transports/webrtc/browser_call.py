"""One browser call: its aiortc peer connection around one turn-engine `Call`, and its end.

Life of a call:
    offer   -> checked, applied; the agent's track is added to the offered audio transceiver;
               the answer is created (aiortc gathers every candidate before it returns, so the
               answer carries them all and a=end-of-candidates); the Call starts listening.
    trickle -> each browser candidate is parsed, refused or added as it arrives.
    end     -> exactly once, with a reason: hangup, signalling_closed (tab closed), ice_failed,
               ice_timeout, connection_closed, caller_track_ended, server_shutdown, error.
               The Call hangs up, the peer connection closes, and `ended` is set.
A fault in this call ends this call; nothing here touches another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription

from voxline.agent.tools import Toolbox
from voxline.config import Settings
from voxline.providers.registry import Providers
from voxline.session.call import Call
from voxline.transports.webrtc import candidates
from voxline.transports.webrtc.data_channel import CallChannel
from voxline.transports.webrtc.host_candidates import pinned_host_addresses
from voxline.transports.webrtc.ice import rtc_configuration
from voxline.transports.webrtc.ice_watch import IceWatch
from voxline.transports.webrtc.inbound import CallerAudio
from voxline.transports.webrtc.messages import Candidate, SignallingError
from voxline.transports.webrtc.offer_check import check_offer
from voxline.transports.webrtc.outbound import AgentAudioTrack
from voxline.transports.webrtc.receive_hold import shorten_audio_hold
from voxline.transports.webrtc.stats import EndedCall, WebRTCStats

log = logging.getLogger(__name__)

# A Call's listening loop gets this long to finish its turn after hang-up before it is cancelled.
HANGUP_GRACE_S = 3.0
# Browser candidates that arrive before the offer wait here (a page may race them).
MAX_EARLY_CANDIDATES = 50
# Each candidate becomes check pairs in aioice; a browser offers a handful, so past this many a
# page is misbehaving and the rest are refused.
MAX_REMOTE_CANDIDATES = 100


class BrowserCall:
    def __init__(
        self,
        call_id: str,
        providers: Providers,
        settings: Settings,
        stats: WebRTCStats,
        *,
        toolbox: Toolbox | None = None,
        caller: str | None = None,
        on_connected: Callable[[float | None], None] | None = None,
    ) -> None:
        self.call_id = call_id
        self.call = Call(
            providers, settings, transport="webrtc", call_id=call_id, toolbox=toolbox, caller=caller
        )
        self._settings = settings
        self._stats = stats
        self._on_connected = on_connected
        self.channel = CallChannel(self.call)
        self.track = AgentAudioTrack(self.call.next_frame, self.channel.agent_speaking)
        self.call.out.on_playable = self.track.wake  # a released answer leaves at once
        self.ice = IceWatch(call_id, self.call.clock, stats, self._connected, self._ice_failed)
        self.pc: RTCPeerConnection | None = None
        self.caller: CallerAudio | None = None
        self.ended = asyncio.Event()
        self.end_reason: str | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self._early: list[Candidate] = []
        self._answered = False

    # -- signalling -------------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """Apply the browser's offer and return the answer SDP. SignallingError if unusable."""
        if self.pc is not None:
            raise SignallingError("unexpected_offer", "this call already has an offer")
        check_offer(offer_sdp)
        self.ice.offer_received()
        pc = self.pc = RTCPeerConnection(rtc_configuration(self._settings.webrtc, user=self.call_id))
        pc.on("connectionstatechange", lambda: self._connection_state(pc))
        pc.on("track", self._on_track)
        pc.on("datachannel", self.channel.attach)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            shorten_audio_hold(pc)  # the engine needs frames in order, not a playout cushion
            pc.addTrack(self.track)  # takes the offered audio transceiver: sendrecv
            await pc.setLocalDescription(await pc.createAnswer())
        except (ValueError, AssertionError, IndexError, KeyError) as err:
            # A refused offer leaves no half-built peer behind: the page may send a fixed one.
            self.pc = None
            await pc.close()
            detail = str(err) or type(err).__name__
            raise SignallingError("bad_sdp", f"aiortc refused the offer: {detail}") from None
        self.ice.watch(pc)  # ICE starts checking only now, once the answer is set
        self._answered = True
        self._spawn(self._run_call(), "call")
        self._spawn(self._ice_deadline(), "ice deadline")
        for early in self._early:
            await self.add_candidate(early)
        self._early.clear()
        return pc.localDescription.sdp

    async def add_candidate(self, message: Candidate) -> None:
        """A trickled browser candidate: parsed, then refused (counted) or handed to aiortc."""
        candidate = candidates.to_aiortc(message)  # SignallingError if it does not parse
        if not self._answered:
            if len(self._early) >= MAX_EARLY_CANDIDATES:
                raise SignallingError("too_many_candidates", "candidates before the offer")
            self._early.append(message)
            return
        if self.ice.remote_candidates + self.ice.refused.total() >= MAX_REMOTE_CANDIDATES:
            raise SignallingError(
                "too_many_candidates", f"more than {MAX_REMOTE_CANDIDATES} candidates in one call"
            )
        refusal = candidates.refusal(candidate, pinned_host_addresses())
        if refusal is not None:
            self.ice.candidate_refused(refusal)
            return
        assert self.pc is not None
        try:
            await self.pc.addIceCandidate(candidate)
        except ValueError as err:
            raise SignallingError("bad_candidate", str(err)) from None
        self.ice.candidate_added()

    async def end_of_candidates(self) -> None:
        if self.pc is not None and self._answered:
            await self.pc.addIceCandidate(None)

    # -- lifetime -------------------------------------------------------------------------------

    def end(self, reason: str) -> None:
        """End the call (idempotent: the first reason stays). Teardown runs in `close()`."""
        if self.end_reason is None:
            self.end_reason = reason
            log.info("call %s ending: %s", self.call_id, reason)
            self.ended.set()

    async def close(self) -> None:
        """Hang up, close the peer connection, and wait for this call's tasks."""
        self.end("server_shutdown")
        self.call.hang_up()
        self.track.stop()
        if self.pc is not None:
            await self.pc.close()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=HANGUP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._stats.call_ended(
            EndedCall(self.call_id, self.end_reason or "", self.ice.setup_ms, len(self.call.records))
        )

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=f"webrtc {self.call_id} {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_call(self) -> None:
        try:
            await self.call.run()
        except Exception as err:  # this call's fault ends this call only
            log.exception("call %s: turn engine failed", self.call_id)
            self.end(f"error: {type(err).__name__}: {err}")

    async def _ice_deadline(self) -> None:
        # aioice waits for more candidates for ever until the browser signals their end, which
        # a page may never do: past the deadline the call ends instead of hanging.
        timeout_s = self._settings.webrtc.ice_timeout_s
        await asyncio.sleep(timeout_s)
        if self.ice.setup_ms is None and self.ice.failure is None:
            self.end(
                f"ice_timeout: not connected {timeout_s:g} s after the answer "
                f"({self.ice.remote_candidates} remote candidates)"
            )

    def _on_track(self, track) -> None:
        if track.kind != "audio" or self.caller is not None:
            return
        self.caller = CallerAudio(track, self.call.receive)
        self._spawn(self._pump_caller(self.caller), "caller audio")

    async def _pump_caller(self, caller: CallerAudio) -> None:
        await caller.run()
        self.end("caller_track_ended")

    def _connected(self, setup_ms: float | None) -> None:
        if self._on_connected is not None:
            self._on_connected(setup_ms)

    def _connection_state(self, pc: RTCPeerConnection) -> None:
        # An ICE failure has already ended the call with its own reason (aiortc updates the
        # ICE state before the connection state); this catches DTLS failure and remote close.
        # A peer dropped with its refused offer is no longer this call's.
        if pc is self.pc and pc.connectionState in ("closed", "failed"):
            self.end(f"connection_{pc.connectionState}")

    def _ice_failed(self, reason: str) -> None:
        self.end(f"ice_failed: {reason}")
