"""The Twilio transport's pure parts: signatures, TwiML, audio conversion, marks, pacing."""

from __future__ import annotations

import asyncio

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from collections import deque

import numpy as np
import pytest

from voxline.audio.frames import FrameSplitter
from voxline.audio.g711 import ulaw_decode, ulaw_encode
from voxline.transports.twilio.audio import AgentAudio, CallerAudio
from voxline.transports.twilio.marks import PlayoutMarks
from voxline.session.playout import AudioOut
from voxline.transports.twilio.sender import (
    FILL_TO_S,
    MARK_EVERY_FRAMES,
    REFILL_BELOW_S,
    AgentSender,
)
from voxline.transports.twilio.signature import TwilioSignature, public_url, with_scheme
from voxline.transports.twilio.twiml import connect_stream, reject_busy

# Twilio's documented example request: token, URL and POST parameters, and its signature.
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def _documented_signature(token: str, url: str, params: dict[str, str]) -> str:
    """HMAC-SHA1 over the URL followed by each parameter name and value, names sorted."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


# -- signatures -----------------------------------------------------------------------------------


def test_the_known_vector_is_valid_and_matches_the_documented_algorithm():
    assert _documented_signature(TOKEN, URL, PARAMS) == SIGNATURE
    signer = TwilioSignature(TOKEN)
    assert signer.sign(URL, PARAMS) == SIGNATURE
    assert signer.valid(URL, PARAMS, SIGNATURE)


@pytest.mark.parametrize(
    "token, url, params, signature",
    [
        ("54321", URL, PARAMS, SIGNATURE),  # another account's token
        (TOKEN, URL.replace("foo=1", "foo=2"), PARAMS, SIGNATURE),  # another URL
        (TOKEN, URL, {**PARAMS, "Digits": "1235"}, SIGNATURE),  # a changed parameter
        (TOKEN, URL, {**PARAMS, "Extra": "1"}, SIGNATURE),  # an added parameter
        (TOKEN, URL, PARAMS, None),  # no header
        (TOKEN, URL, PARAMS, ""),
        (TOKEN, URL, PARAMS, SIGNATURE[:-2]),
    ],
)
def test_anything_else_fails(token, url, params, signature):
    assert not TwilioSignature(token).valid(url, params, signature)


def test_a_sharedkey_sha256_signature_is_checked_with_the_named_algorithm():
    data = URL + "".join(k + PARAMS[k] for k in sorted(PARAMS))
    sha256 = base64.b64encode(hmac.new(b"secret", data.encode(), hashlib.sha256).digest()).decode()
    signer = TwilioSignature("secret")
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert signer.valid(URL, PARAMS, sha256, header)
    assert not signer.valid(URL, PARAMS, sha256)  # read as SHA1 without the header


def test_the_public_url_replaces_what_the_server_saw_behind_a_proxy():
    seen = "http://10.0.0.5:8080/twilio/voice?x=1"
    assert public_url(seen, None) == seen
    assert public_url(seen, "https://voice.clinic.example") == (
        "https://voice.clinic.example/twilio/voice?x=1"
    )
    assert public_url("http://10.0.0.5/twilio/voice", "https://h.example/pre/") == (
        "https://h.example/pre/twilio/voice"
    )
    assert with_scheme("https://h.example/twilio/stream", websocket=True) == (
        "wss://h.example/twilio/stream"
    )
    assert with_scheme("ws://127.0.0.1:8/twilio/stream", websocket=False) == (
        "http://127.0.0.1:8/twilio/stream"
    )


def test_a_stream_handshake_is_valid_signed_as_wss_or_https_and_nothing_else():
    signer = TwilioSignature(TOKEN)
    url = "https://voice.clinic.example/twilio/stream"
    wss = "wss://voice.clinic.example/twilio/stream"
    assert signer.valid_handshake(url, signer.sign(wss))
    assert signer.valid_handshake(url, signer.sign(url))
    assert not signer.valid_handshake(url, signer.sign("wss://other.example/twilio/stream"))
    assert not signer.valid_handshake(url, None)


# -- TwiML ----------------------------------------------------------------------------------------


def test_connect_stream_twiml_carries_the_url_and_escaped_parameters():
    xml = connect_stream(
        "wss://voice.clinic.example/twilio/stream", {"From": "+1555 <&>", "CallSid": "CA1"}
    )
    root = ET.fromstring(xml)
    assert root.tag == "Response"
    (connect,) = list(root)
    assert connect.tag == "Connect"
    (stream,) = list(connect)
    assert stream.tag == "Stream"
    assert stream.get("url") == "wss://voice.clinic.example/twilio/stream"
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert params == {"From": "+1555 <&>", "CallSid": "CA1"}


def test_reject_busy():
    root = ET.fromstring(reject_busy())
    assert [(e.tag, e.get("reason")) for e in root] == [("Reject", "busy")]


# -- audio ----------------------------------------------------------------------------------------


def _tone(rate: int, seconds: float, hz: float = 440.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16).tobytes()


def _rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)))


def test_caller_audio_becomes_20ms_frames_at_8k_and_keeps_its_level():
    mulaw = ulaw_encode(_tone(8000, 1.0))
    caller = CallerAudio()
    frames = [f for i in range(0, len(mulaw), 160) for f in caller.push(mulaw[i : i + 160])]
    assert len(frames) == 50 and all(len(f) == 320 for f in frames)  # one out per one in
    middle = b"".join(frames[10:40])
    assert _rms(middle) == pytest.approx(8000 / np.sqrt(2), rel=0.05)


def test_caller_audio_of_any_payload_size_is_the_decoded_audio_in_whole_frames():
    # Whole 20 ms payloads skip the splitter; odd sizes go through it: the same audio either way.
    caller, splitter = CallerAudio(), FrameSplitter(8000)
    rng = np.random.default_rng(3)
    for size in [160] * 5 + [37, 160, 283, 160, 160, 1, 159, 160]:
        mulaw = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert caller.push(mulaw) == splitter.push(ulaw_decode(mulaw))


def _frames(mulaw: bytes) -> list[bytes]:
    """AgentAudio's mu-law bytes as the 160-byte frames they hold."""
    return [mulaw[i : i + 160] for i in range(0, len(mulaw), 160)]


def test_agent_audio_becomes_160_byte_mulaw_frames_and_flush_keeps_the_tail():
    pcm = _tone(16000, 0.5)
    agent = AgentAudio()
    frames = [f for i in range(0, len(pcm), 640) for f in _frames(agent.push(pcm[i : i + 640]))]
    frames += _frames(agent.flush())
    assert all(len(f) == 160 for f in frames)
    assert len(frames) == 26  # 500 ms, then the filter's 2 ms tail in a padded frame
    assert _rms(ulaw_decode(b"".join(frames[5:20]))) == pytest.approx(8000 / np.sqrt(2), rel=0.05)


def test_agent_audio_in_batches_is_the_same_bytes_as_frame_by_frame():
    # The sender converts what it sends in one go: the batch must not change a sample.
    pcm = _tone(16000, 0.5)
    one_by_one = AgentAudio()
    frames = [f for i in range(0, len(pcm), 640)
              for f in _frames(one_by_one.push(pcm[i : i + 640]))]
    batched = AgentAudio()
    batches = [f for i in range(0, len(pcm), 3200)
               for f in _frames(batched.push(pcm[i : i + 3200]))]
    assert batches == frames
    assert batched.flush() == one_by_one.flush()


# -- marks ----------------------------------------------------------------------------------------


def test_marks_count_what_was_played_and_not_what_a_clear_dropped():
    marks = PlayoutMarks()
    assert marks.mark() is None  # nothing sent yet
    marks.audio_sent(10)
    first = marks.mark()
    marks.audio_sent(10)
    second = marks.mark()
    marks.audio_sent(3)  # unmarked when the clear comes
    assert marks.echoed(first) == "played"
    assert marks.heard_ms == 200
    marks.cleared()
    assert marks.echoed(second) == "flushed"  # Twilio echoes what a clear dropped
    assert marks.echoed(second) == "unknown"  # and only once
    assert marks.echoed("nope") == "unknown"
    assert (marks.heard_ms, marks.sent_ms, marks.acknowledged, marks.flushed) == (200, 460, 1, 1)
    assert marks.in_flight == 0


# -- the paced sender -------------------------------------------------------------------------


class FakeCall:
    """Stands for Call's outbound side: a queue of 20 ms frames, emptied on barge-in."""

    def __init__(self, frames: int) -> None:
        self.queue = deque(_tone(16000, frames * 0.02)[i : i + 640] for i in range(0, frames * 640, 640))
        self.pulls = 0
        self.out = AudioOut()  # only its on_playable hook is used: the queue above stands in

    def next_frame(self) -> bytes | None:
        self.pulls += 1
        return self.queue.popleft() if self.queue else None


class Wire:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    @classmethod
    def of(cls, sent: list[dict]) -> Wire:
        wire = cls()
        wire.sent = list(sent)
        return wire

    def events(self, start: int = 0) -> list[str]:
        return [m["event"] for m in self.sent[start:]]


def _media_frames(wire: Wire) -> list[int]:
    """20 ms frames carried by each media message sent."""
    return [len(base64.b64decode(m["media"]["payload"])) // 160
            for m in wire.sent if m["event"] == "media"]


async def test_the_sender_keeps_twilio_between_its_bounds_in_batches_and_marks_every_stretch():
    call, wire = FakeCall(frames=50), Wire()
    sender = AgentSender(call, wire.send, "MZ1")
    fill_frames, refill_frames = round(FILL_TO_S / 0.02), round(REFILL_BELOW_S / 0.02)
    for n in range(80):
        await sender.tick(n * 0.02)
        # Twilio's buffer after tick n: audio sent minus the n frames played so far.
        ahead = sum(_media_frames(wire)) - n
        if call.queue:  # never a flood, never starved while there is audio
            assert refill_frames <= ahead <= fill_frames, f"tick {n}: {ahead} frames ahead"
    sizes = _media_frames(wire)
    assert all(size * 160 == len(base64.b64decode(m["media"]["payload"]))
               for size, m in zip(sizes, (m for m in wire.sent if m["event"] == "media")))
    assert sum(sizes) == 51  # one second of audio, and the filter's tail in a padded frame
    assert sizes[0] == fill_frames  # the first message fills Twilio's buffer at once
    # Batches: after the first fill, a message carries the frames played since the refill.
    assert len(sizes) <= 2 + (51 - fill_frames) // (fill_frames - refill_frames - 1)
    assert sender.messages_sent == len(sizes)
    assert all(m["streamSid"] == "MZ1" for m in wire.sent)
    # A mark once MARK_EVERY_FRAMES frames have gone out since the last, and where the agent
    # stopped; marks land between messages, so a stretch is at least that long.
    events = wire.events()
    marks = [i for i, e in enumerate(events) if e == "mark"]
    assert events[-1] == "mark"
    sent_before = [sum(_media_frames(Wire.of(wire.sent[:i]))) for i in marks]
    stretches = [b - a for a, b in zip([0, *sent_before], sent_before)]
    assert all(s >= MARK_EVERY_FRAMES for s in stretches[:-1]) and stretches[-1] > 0
    assert sender.marks.sent_ms == sum(sizes) * 20
    assert call.pulls >= 80  # the engine's clock was pulled every tick, audio or not


async def test_an_answer_that_becomes_playable_between_ticks_is_sent_at_once():
    call, wire = FakeCall(frames=0), Wire()
    sender = AgentSender(call, wire.send, "MZ1")
    running = asyncio.create_task(sender.run())
    try:
        await asyncio.sleep(0.05)  # a few idle ticks: nothing to send
        assert wire.events().count("media") == 0
        call.queue.extend(FakeCall(frames=10).queue)
        call.out.on_playable()  # what AudioOut does when the endpoint releases an answer
        for _ in range(5):
            await asyncio.sleep(0)
        # Sent by the woken tick, not by the next scheduled one (the wake is queued first).
        assert sender.early_ticks == 1
        # One message, filling Twilio's buffer (the answer is only 10 frames).
        assert _media_frames(wire) == [round(FILL_TO_S / 0.02)]
        call.out.on_playable()  # mid-answer the schedule rules: no second early tick
        for _ in range(5):
            await asyncio.sleep(0)
        assert sender.early_ticks == 1
    finally:
        running.cancel()


async def test_a_barge_in_sends_clear_on_the_next_tick_and_flushes_pending_marks():
    call, wire = FakeCall(frames=100), Wire()
    sender = AgentSender(call, wire.send, "MZ1")
    for n in range(30):
        await sender.tick(n * 0.02)
    names = [m["mark"]["name"] for m in wire.sent if m["event"] == "mark"]
    assert sender.acknowledged(names[0]) == "played"
    call.queue.clear()  # what Call does on barge-in, before it tells the transport
    sender.barge_in()
    mark_at = len(wire.sent)
    await sender.tick(30 * 0.02)
    assert wire.events(mark_at)[0] == "clear"
    assert sender.clears_sent == 1
    assert "media" not in wire.events(mark_at)
    # Twilio echoes the marks the clear dropped: none of them counts as heard.
    assert [sender.acknowledged(n) for n in names[1:]] == ["flushed"] * (len(names) - 1)
    first_mark = wire.events().index("mark")
    assert sender.marks.heard_ms == sum(_media_frames(Wire.of(wire.sent[:first_mark]))) * 20
