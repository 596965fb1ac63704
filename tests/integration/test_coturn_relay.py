"""Two aiortc peers that can only reach each other through a real coturn relay on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time

import pytest
from aioice import stun, turn
from aiortc import RTCPeerConnection

from voxline.testing.coturn import Coturn, coturn
from voxline.transports.webrtc.ice import rtc_configuration, turn_rest_credentials
from voxline.transports.webrtc.ice_path import selected_candidate_pair

CONNECT_TIMEOUT_S = 15


async def _connect(caller: RTCPeerConnection, agent: RTCPeerConnection) -> None:
    # aiortc gathers every candidate inside setLocalDescription, so each description
    # already carries them (no trickle needed between two aiortc peers)
    await caller.setLocalDescription(await caller.createOffer())
    await agent.setRemoteDescription(caller.localDescription)
    await agent.setLocalDescription(await agent.createAnswer())
    await caller.setRemoteDescription(agent.localDescription)


def _candidate_types(pc: RTCPeerConnection) -> set[str]:
    lines = pc.localDescription.sdp.splitlines()
    return {line.split(" typ ")[1].split()[0] for line in lines if " typ " in line}


async def test_a_data_channel_message_crosses_the_turn_relay(coturn_server: Coturn):
    # relay-only on both sides: aiortc offers no host candidate, so the only way is via coturn
    settings = coturn_server.webrtc_settings(ice_transport_policy="relay")
    caller = RTCPeerConnection(rtc_configuration(settings, user="caller"))
    agent = RTCPeerConnection(rtc_configuration(settings, user="agent"))
    received: asyncio.Queue[str] = asyncio.Queue()
    try:
        channel = caller.createDataChannel("chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        channel.on("message", received.put_nowait)

        @agent.on("datachannel")
        def echo(remote):
            remote.on("message", lambda message: remote.send(f"echo {message}"))

        await _connect(caller, agent)
        assert _candidate_types(caller) == {"relay"}, caller.localDescription.sdp
        assert _candidate_types(agent) == {"relay"}, agent.localDescription.sdp

        await asyncio.wait_for(opened.wait(), CONNECT_TIMEOUT_S)
        channel.send("hello over TURN")
        assert await asyncio.wait_for(received.get(), CONNECT_TIMEOUT_S) == "echo hello over TURN"

        for pc in (caller, agent):
            local, remote = selected_candidate_pair(pc)
            assert (local.type, remote.type) == ("relay", "relay")
            assert local.ip == remote.ip == coturn_server.host
        # and coturn itself granted both allocations, to the REST usernames minted per call
        for user in ("caller", "agent"):
            allocated = re.compile(rf"user <\d+:{user}>: incoming packet ALLOCATE processed, success")
            assert allocated.search(coturn_server.log()), coturn_server.log()[-3000:]
    finally:
        await caller.close()
        await agent.close()


async def _allocate(server: Coturn, username: str, password: str) -> tuple[str, int]:
    transport, _ = await turn.create_turn_endpoint(
        asyncio.DatagramProtocol,
        server_addr=(server.host, server.port),
        username=username,
        password=password,
    )
    try:
        return transport.get_extra_info("sockname")
    finally:
        transport.close()


async def test_turn_rest_credentials_get_a_relay_allocation(coturn_server: Coturn):
    creds = turn_rest_credentials(coturn_server.secret, "alice", 60, time.time())
    relayed = await _allocate(coturn_server, creds.username, creds.password)
    assert relayed[0] == coturn_server.host  # relay-ip is loopback only


@pytest.mark.parametrize(
    ("secret", "age_s"),
    [
        ("not-the-servers-secret", 0),  # wrong secret: the HMAC does not match
        (None, 120),  # right secret, but the credentials expired a minute ago
    ],
)
async def test_coturn_refuses_wrong_or_expired_credentials(
    coturn_server: Coturn, secret: str | None, age_s: int
):
    creds = turn_rest_credentials(secret or coturn_server.secret, "mallory", 60, time.time() - age_s)
    with pytest.raises(stun.TransactionFailed) as err:
        await _allocate(coturn_server, creds.username, creds.password)
    assert err.value.response.attributes["ERROR-CODE"][0] == 401


async def test_the_server_is_gone_and_its_port_free_after_the_block(tmp_path):
    async with coturn(tmp_path) as server:
        pid = int((tmp_path / "turnserver.pid").read_text())
        os.kill(pid, 0)  # running
        port = server.port
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((server.host, port))  # nothing holds the port any more
