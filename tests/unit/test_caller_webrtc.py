"""The caller harness over WebRTC (aiortc both ends, loopback) against a delay agent.

Neither end holds packets before decoding (the delay agent hears the caller as voxline's server
does, and the harness times the agent's audio at its packet's arrival: webrtc_arrivals.py), so
what is left on top of the injected D (the agent times it from the caller's voice as it hears
it) is Opus's look-ahead each way (up to 6.5 ms) and the loopback hops. aiortc's default
buffer held four packets (80 ms) and, on a loaded machine, less after a burst of late packets,
which made it the spread of this test. The harness must follow D one for one: the 700 ms and
300 ms agents differ by 400 ms within a frame.

Not yet checked here: barge_in_stop_ms over WebRTC (a first try saw the answer after a barge-in
arrive ~100 ms later than the agent's own record says it left; not understood yet)."""

from __future__ import annotations

from caller_delay_checks import FRAME_MS
from test_caller_twilio import STOP_MS, speech_like

from voxline.bench.caller import Script, ScriptTurn, place_call
from voxline.bench.caller.delay.webrtc_peer import webrtc_delay_agent

OPUS_LOOKAHEAD_MS = 6.5
# Two frames, not one: seen 9.5 to 41 ms over D on a loaded 2-core machine (expected 13).
TOLERANCE_MS = 2 * FRAME_MS


async def _call(script: Script, delay_ms: float):
    async with webrtc_delay_agent(delay_ms, STOP_MS) as agent:
        result = await place_call(agent.url, "webrtc", script, timeout_s=40)
    assert result.ended_by == "caller" and agent.hangups == 1, result.to_dict()
    brain = agent.brains[0]
    wire = [(s - e) * 1000 for s, e in zip(brain.wire_starts, brain.voice_ends)]
    return result, wire


async def test_voice_to_voice_follows_the_injected_delay(tmp_path):
    short, long = speech_like(tmp_path / "a.wav"), speech_like(tmp_path / "b.wav", 1.2)
    script = Script([ScriptTurn(short, pause_ms=300), ScriptTurn(long, pause_ms=200)],
                    answer_quiet_ms=300)
    firsts = {}
    for delay_ms in (300, 700):
        result, wire = await _call(script, delay_ms)
        measured = [t.voice_to_voice_ms for t in result.turns]
        for got, truth in zip(measured, wire, strict=True):
            expected = truth + 2 * OPUS_LOOKAHEAD_MS
            assert abs(got - expected) <= TOLERANCE_MS, (delay_ms, measured, wire)
        firsts[delay_ms] = measured[0]
    assert abs(firsts[700] - firsts[300] - 400) <= TOLERANCE_MS, firsts
