"""WebRTC signalling and media against a real `voxline serve`, with an aiortc peer as the caller.

The scripted caller speaks the page's protocol (hold a line, offer, trickle its candidates one
message each, data channel "voxline"), so the whole path is real: signalling, ICE on loopback,
DTLS, Opus both ways, the turn engine on the embedded models, the data channel.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import pytest
import websockets

from voxline.audio.frames import silence
from voxline.audio.wav import read_wav
from voxline.testing.serve_process import served
from voxline.testing.webrtc_client import ScriptedCaller, split_candidates

pytestmark = pytest.mark.models
MAX_CALLS = 2
ICE_TIMEOUT_S = 5  # loopback ICE connects in tens of ms; this keeps the timeout test short


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {
        "VOXLINE_WEBRTC__MAX_CALLS": str(MAX_CALLS),
        "VOXLINE_WEBRTC__ICE_TIMEOUT_S": str(ICE_TIMEOUT_S),
    }
    with served(env, log_dir=tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture
async def idle(server):
    """Every test starts with no call up (a previous test's call may still be closing)."""
    await _wait_stats(server, lambda s: s["active_calls"] == s["held_calls"] == 0, 10)
    return server


async def _http(server, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        return await http.request(method, path)


async def _stats(server) -> dict:
    return (await _http(server, "GET", "/webrtc/stats")).json()


async def _wait_stats(server, good, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        stats = await _stats(server)
        if good(stats) or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.1)


def _ws_url(server, query: str = "") -> str:
    return server.url.replace("http", "ws", 1) + "/webrtc/ws" + query


def _mic(caller_wavs, name: str, lead_ms: int = 500) -> bytes:
    return silence(48000, lead_ms) + read_wav(caller_wavs[name], 48000).pcm


async def _offer_sdp(server, caller_wavs) -> str:
    """A real aiortc offer without its candidates (the peer behind it is closed at once)."""
    caller = ScriptedCaller(server.url, _mic(caller_wavs, "hours"))
    try:
        caller.pc.addTrack(caller.mic)
        await caller.pc.setLocalDescription(await caller.pc.createOffer())
        return split_candidates(caller.pc.localDescription.sdp)[0]
    finally:
        await caller.pc.close()


async def _until_bye(ws, timeout_s: float) -> tuple[list[dict], float]:
    """Every message up to the server's bye, and the seconds from the answer to the bye."""
    seen, answered_at = [], time.monotonic()
    while not seen or seen[-1]["type"] != "bye":
        seen.append(json.loads(await asyncio.wait_for(ws.recv(), timeout_s)))
        if seen[-1]["type"] == "answer":
            answered_at = time.monotonic()
    return seen, time.monotonic() - answered_at


async def test_a_scripted_caller_is_answered_over_webrtc(idle, caller_wavs, key_words):
    server = idle
    caller = ScriptedCaller(server.url, _mic(caller_wavs, "hours"))
    await caller.start()
    try:
        answered = await caller.wait_for(
            lambda log: log.of_type("turn") and log.voice_to_voice_ms is not None, 60
        )
        assert answered, (caller.log.channel, server.log()[-3000:])
        # The caller's voice-to-voice figure reaches the server's record of that turn.
        assert await caller.wait_for(
            lambda log: log.of_type("turn")[-1]["record"]["voice_to_voice_ms"] is not None, 10
        )
        await caller.wait_for(lambda log: log.agent_voiced_ms > 1000, 10)
        await caller.hang_up()
    finally:
        await caller.close()
    log = caller.log

    # Signalling: the answer carries the server's candidates and their end; ours were trickled.
    assert re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host", log.answer_sdp)
    assert "a=end-of-candidates" in log.answer_sdp
    assert log.trickled >= 1
    connected = log.of_type("connected", "signalling")
    assert len(connected) == 1 and connected[0]["setup_ms"] > 0
    assert log.signalling[-1] == {"type": "bye", "reason": "hangup"}

    # Data channel: the question transcribed, the agent's state, and the turn's record.
    heard = " ".join(m["text"] for m in log.of_type("transcript") if m["final"]).lower()
    assert all(word in heard for word in key_words["hours"]), heard
    states = [m["state"] for m in log.of_type("state")]
    assert states.index("caller_speaking") < states.index("thinking") < states.index("speaking")
    record = log.of_type("turn")[-1]["record"]
    assert record["transport"] == "webrtc" and record["outcome"] == "answered"
    assert record["reply"] and record["latency"]["turn_latency_ms"] is not None
    assert record["voice_to_voice_ms"] == log.voice_to_voice_ms > 0

    # Media: the spoken answer arrived as audio energy on the caller's received track.
    assert log.agent_voiced_ms > 1000

    stats = await _wait_stats(server, lambda s: s["active_calls"] == 0, 5)
    transitions = stats["state_transitions"]["server"]
    assert transitions["ice"]["checking"] >= 1 and transitions["ice"]["completed"] >= 1
    assert transitions["connection"]["connected"] >= 1
    assert any(e["call_id"] == log.call_id and e["reason"] == "hangup" for e in stats["ended_recent"])
    assert connected[0]["setup_ms"] in stats["setup_ms_recent"]


async def test_malformed_messages_get_json_errors_and_the_call_goes_on(idle, caller_wavs):
    server = idle
    async with websockets.connect(_ws_url(server)) as ws:
        async def exchange(raw) -> dict:
            await ws.send(raw)
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

        assert (await exchange("{not json"))["code"] == "bad_json"
        assert (await exchange(b"\x00\xff"))["code"] == "bad_json"
        assert (await exchange('{"type": "dance"}'))["code"] == "unknown_type"
        bad = await exchange(json.dumps({"type": "offer", "sdp": "v=0\r\nm=video 9 x\r\n"}))
        assert bad == {"type": "error", "code": "bad_sdp", "fatal": False,
                       "message": bad["message"]} and "audio" in bad["message"]
        too_big = await exchange(json.dumps({"type": "offer", "sdp": "v=0" + "x" * 70_000}))
        assert too_big["code"] == "message_too_large"
        garbled = await exchange(json.dumps({"type": "candidate", "candidate": "candidate:1 x",
                                             "sdpMid": "0"}))
        assert garbled["code"] == "bad_candidate"

        # After all that, a good offer on the same socket is answered.
        offer = json.dumps({"type": "offer", "sdp": await _offer_sdp(server, caller_wavs)})
        answer = await exchange(offer)
        assert answer["type"] == "answer" and answer["sdp"].startswith("v=0")
        assert (await exchange(offer))["code"] == "unexpected_offer"
        # A flood of candidates is cut off (these mDNS ones are refused, so no traffic).
        mdns = "candidate:1 1 udp 2113937151 4b1c2d3e-0000-4000-8000-00000000000{}.local 9 typ host"
        for n in range(100):
            await ws.send(json.dumps({"type": "candidate", "candidate": mdns.format(n % 10),
                                      "sdpMid": "0"}))
        flood = await exchange(json.dumps({"type": "candidate", "candidate": mdns.format(0),
                                           "sdpMid": "0"}))
        assert flood["code"] == "too_many_candidates"
    assert (await _http(server, "GET", "/healthz")).json()["status"] == "ok"
    stats = await _wait_stats(server, lambda s: s["active_calls"] == 0, 5)
    assert stats["active_calls"] == 0


async def test_past_max_calls_the_server_answers_503_with_json(idle):
    server = idle
    sockets = [await websockets.connect(_ws_url(server)) for _ in range(MAX_CALLS)]
    try:
        await asyncio.sleep(0.3)  # both claimed
        full = await _http(server, "POST", "/webrtc/calls")
        assert full.status_code == 503 and full.headers["Retry-After"]
        assert full.json()["error"]["code"] == "server_full"
        assert full.json()["error"]["max_calls"] == MAX_CALLS
        async with websockets.connect(_ws_url(server)) as extra:
            refused = json.loads(await asyncio.wait_for(extra.recv(), 10))
            assert refused["code"] == "server_full" and refused["fatal"] is True
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(extra.recv(), 10)
            assert closed.value.rcvd.code == 1013
    finally:
        for ws in sockets:
            await ws.close()
    await _wait_stats(server, lambda s: s["active_calls"] == 0, 5)
    line = await _http(server, "POST", "/webrtc/calls")
    assert line.status_code == 201, line.text
    body = line.json()
    assert body["rtc_configuration"] == {"iceServers": [], "iceTransportPolicy": "all"}
    assert body["signalling"] == f"/webrtc/ws?call_id={body['call_id']}"
    # Claim the held line and hang up, so it does not linger for the next test.
    async with websockets.connect(_ws_url(server, f"?call_id={body['call_id']}")) as ws:
        await ws.send(json.dumps({"type": "hangup"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "bye", "reason": "hangup"}


async def test_a_held_line_can_be_given_back(idle):
    line = (await _http(idle, "POST", "/webrtc/calls")).json()
    assert (await _stats(idle))["held_calls"] == 1
    assert (await _http(idle, "DELETE", f"/webrtc/calls/{line['call_id']}")).status_code == 204
    assert (await _stats(idle))["held_calls"] == 0
    again = await _http(idle, "DELETE", f"/webrtc/calls/{line['call_id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "unknown_call"


async def test_an_unknown_call_id_is_refused(idle):
    async with websockets.connect(_ws_url(idle, "?call_id=0123456789ab")) as ws:
        refused = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert refused["code"] == "unknown_call" and "POST /webrtc/calls" in refused["message"]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 1008


async def test_a_closed_socket_ends_the_call_within_5_s(idle, caller_wavs):
    server = idle
    caller = ScriptedCaller(server.url, _mic(caller_wavs, "hours", lead_ms=20_000))
    await caller.start()
    try:
        assert await caller.wait_for(lambda log: log.of_type("connected", "signalling"), 20)
        assert (await _stats(server))["active_calls"] == 1
        await caller.close_signalling()  # the tab's socket goes; its media keeps flowing meanwhile
        closed_at = time.monotonic()
        stats = await _wait_stats(server, lambda s: s["active_calls"] == 0, 5)
        waited = time.monotonic() - closed_at
    finally:
        await caller.close()
    assert stats["active_calls"] == 0, f"call still up {waited:.1f} s after its socket closed"
    ended = [e for e in stats["ended_recent"] if e["call_id"] == caller.log.call_id]
    assert ended and ended[0]["reason"] == "signalling_closed"


async def test_ice_with_no_usable_candidates_ends_the_call_with_the_reason(idle, caller_wavs):
    server = idle
    sdp = await _offer_sdp(server, caller_wavs)
    async with websockets.connect(_ws_url(server)) as ws:
        await ws.send(json.dumps({"type": "offer", "sdp": sdp}))
        mdns = "candidate:1 1 udp 2113937151 4b1c2d3e-0000-4000-8000-000000000000.local 50000 typ host"
        await ws.send(json.dumps({"type": "candidate", "candidate": mdns, "sdpMid": "0"}))
        await ws.send(json.dumps({"type": "end_of_candidates"}))
        seen, _ = await _until_bye(ws, 30)
    assert seen[0]["type"] == "answer"
    reason = seen[-1]["reason"]
    assert reason.startswith("ice_failed: no usable remote candidates (1 mdns refused)"), reason
    stats = await _wait_stats(server, lambda s: s["active_calls"] == 0, 5)
    assert stats["state_transitions"]["server"]["ice"]["failed"] >= 1
    assert stats["refused_remote_candidates"]["mdns"] >= 1
    assert any(f["reason"] in reason for f in stats["ice_failures_recent"])


async def test_ice_that_never_connects_ends_the_call_at_the_timeout(idle, caller_wavs):
    server = idle
    sdp = await _offer_sdp(server, caller_wavs)
    async with websockets.connect(_ws_url(server)) as ws:
        # An offer, then nothing: no candidates, no end-of-candidates, no checks.
        await ws.send(json.dumps({"type": "offer", "sdp": sdp}))
        seen, waited = await _until_bye(ws, ICE_TIMEOUT_S + 20)
    assert seen[0]["type"] == "answer"
    assert seen[-1]["reason"] == (
        f"ice_timeout: not connected {ICE_TIMEOUT_S} s after the answer (0 remote candidates)"
    )
    assert waited >= ICE_TIMEOUT_S - 0.5  # not before the deadline
    stats = await _wait_stats(server, lambda s: s["active_calls"] == 0, 5)
    assert stats["end_reasons"]["ice_timeout"] >= 1


def _words(text: str) -> list[str]:
    return [w.strip(".,;:!?").lower() for w in text.split()]


async def test_talking_over_the_agent_stops_its_audio_and_cuts_the_answer_to_what_was_sent(
    idle, caller_wavs
):
    server = idle
    caller = ScriptedCaller(server.url, _mic(caller_wavs, "hours"))
    await caller.start()
    try:
        assert await caller.wait_for(lambda log: log.agent_voiced_ms > 0, 60), caller.log.channel
        await asyncio.sleep(0.3)
        caller.mic.say(read_wav(caller_wavs["wednesday"], 48000).pcm)  # talks over the answer
        assert await caller.wait_for(lambda log: log.barge_in_at is not None, 10)
        assert await caller.wait_for(lambda log: log.of_type("turn"), 20)
        await asyncio.sleep(1.0)
        await caller.hang_up()
    finally:
        await caller.close()
    log = caller.log
    first = log.of_type("turn")[0]["record"]
    assert first["outcome"] == "interrupted" and first["interrupted"] is True
    # What the caller heard is where the track stood: a strict prefix of the reply.
    heard, reply = _words(first["heard"]), _words(first["reply"])
    assert heard and len(heard) < len(reply) and reply[: len(heard)] == heard, first
    assert first["latency"]["barge_in_stop_ms"] is not None
    # The agent was audible just before the barge-in, and silent right after it (the caller
    # is still talking, and the next answer waits for the endpoint window).
    before = [loud for at, loud in log.agent_loud if log.barge_in_at - 0.5 <= at < log.barge_in_at]
    after = [loud for at, loud in log.agent_loud
             if log.barge_in_at + 0.25 <= at < log.barge_in_at + 0.75]
    assert sum(before) >= 5, "the agent was not speaking before the barge-in"
    assert len(after) >= 20 and not any(after), "agent audio kept arriving after the barge-in"
