"""ElevenLabs stream-input wire format: documented messages, builders, malformed frames."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from voxline.errors import ConfigError, ProtocolViolation
from voxline.protocols import elevenlabs as el
from voxline.providers.elevenlabs import ClauseTracker

# The AudioOutput example of ElevenLabs' asyncapi (stream-input), as published: note its
# `charsDurationsMs` spelling.
DOC_AUDIO = {
    "audio": "Y3VyaW91cyBtaW5kcyB0aGluayBhbGlrZSA6KQ==",
    "isFinal": False,
    "normalizedAlignment": {
        "charStartTimesMs": [0, 3, 7, 9, 11, 12, 13, 15, 17, 19, 21],
        "charsDurationsMs": [3, 4, 2, 2, 1, 1, 2, 2, 2, 2, 3],
        "chars": ["H", "e", "l", "l", "o", " ", "w", "o", "r", "l", "d"],
    },
    "alignment": {
        "charStartTimesMs": [0, 3, 7, 9, 11, 12, 13, 15, 17, 19, 21],
        "charsDurationsMs": [3, 4, 2, 2, 1, 1, 2, 2, 2, 2, 3],
        "chars": ["H", "e", "l", "l", "o", " ", "w", "o", "r", "l", "d"],
    },
}


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def test_url_has_path_and_every_parameter() -> None:
    url = el.stream_input_url(
        "wss://api.elevenlabs.io/",
        "JBFq nCB/s",
        model_id="eleven_flash_v2_5",
        output_format="ulaw_8000",
        inactivity_timeout=60,
        sync_alignment=True,
        auto_mode=False,
        language_code="en",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("wss", "api.elevenlabs.io")
    assert parts.path == "/v1/text-to-speech/JBFq%20nCB%2Fs/stream-input"
    assert _query(url) == {
        "model_id": "eleven_flash_v2_5",
        "output_format": "ulaw_8000",
        "inactivity_timeout": "60",
        "sync_alignment": "true",
        "auto_mode": "false",
        "language_code": "en",
    }
    assert "optimize_streaming_latency" not in url  # deprecated in the reference


def test_url_defaults_suit_a_pooled_low_latency_socket() -> None:
    q = _query(el.stream_input_url("wss://h", "v"))
    assert q["inactivity_timeout"] == "180"
    assert q["sync_alignment"] == "true"
    assert q["auto_mode"] == "true"
    assert q["output_format"] == "pcm_16000"


@pytest.mark.parametrize(
    "kwargs",
    [{"output_format": "pcm_11025"}, {"inactivity_timeout": 0}, {"inactivity_timeout": 181}],
)
def test_url_rejects_bad_options(kwargs) -> None:
    with pytest.raises(ConfigError):
        el.stream_input_url("wss://h", "v", **kwargs)


def test_output_formats_map_to_encoding_and_rate() -> None:
    assert el.OUTPUT_FORMATS == {
        "pcm_16000": ("pcm", 16000),
        "pcm_22050": ("pcm", 22050),
        "pcm_24000": ("pcm", 24000),
        "ulaw_8000": ("ulaw", 8000),
        "mp3_44100_128": ("mp3", 44100),
    }


def test_init_message() -> None:
    msg = json.loads(
        el.init_message("sk_1", {"stability": 0.5, "similarity_boost": 0.8}, (50, 90, 120))
    )
    assert msg == {
        "text": " ",
        "voice_settings": {"stability": 0.5, "similarity_boost": 0.8},
        "generation_config": {"chunk_length_schedule": [50, 90, 120]},
        "xi_api_key": "sk_1",
    }
    assert json.loads(el.init_message()) == {"text": " "}  # key in the header instead
    with pytest.raises(ConfigError):
        el.init_message(chunk_length_schedule=(20,))


def test_text_flush_keepalive_close_messages() -> None:
    assert json.loads(el.text_message("Hello there.")) == {
        "text": "Hello there. ",
        "try_trigger_generation": True,
    }
    assert json.loads(el.text_message("Hi ", flush=True, try_trigger_generation=False)) == {
        "text": "Hi ",
        "try_trigger_generation": False,
        "flush": True,
    }
    assert json.loads(el.flush_message()) == {"text": " ", "flush": True}
    assert json.loads(el.keepalive_message()) == {"text": " "}
    assert json.loads(el.close_message()) == {"text": ""}
    with pytest.raises(ValueError):
        el.text_message("  ")


def test_parse_documented_audio_output() -> None:
    msg = el.parse(json.dumps(DOC_AUDIO))
    assert isinstance(msg, el.AudioMessage)
    assert msg.audio == b"curious minds think alike :)"
    assert msg.is_final is False
    assert msg.alignment is not None
    assert "".join(c for c, _, _ in msg.alignment) == "Hello world"
    assert msg.alignment[1] == ("e", 3.0, 4.0)
    assert msg.alignment[-1] == ("d", 21.0, 3.0)


def test_parse_live_spelling_and_prefers_alignment_over_normalized() -> None:
    raw = {
        "audio": base64.b64encode(b"\x01\x02").decode(),
        "alignment": {"chars": ["3"], "charStartTimesMs": [5], "charDurationsMs": [7]},
        "normalizedAlignment": {
            "chars": ["t", "h"],
            "charStartTimesMs": [0, 1],
            "charDurationsMs": [1, 1],
        },
    }
    msg = el.parse(json.dumps(raw))
    assert isinstance(msg, el.AudioMessage)
    assert msg.alignment == (("3", 5.0, 7.0),)
    del raw["alignment"]
    msg = el.parse(json.dumps(raw))
    assert isinstance(msg, el.AudioMessage) and msg.alignment is not None
    assert [c for c, _, _ in msg.alignment] == ["t", "h"]


def test_parse_final_and_error() -> None:
    assert el.parse('{"audio": null, "isFinal": true}') == el.AudioMessage(b"", True, None)
    assert el.parse('{"isFinal": true}') == el.AudioMessage(b"", True, None)
    err = el.parse('{"message": "Invalid API key", "error": "invalid_api_key", "code": 1008}')
    assert err == el.ErrorMessage("invalid_api_key", "Invalid API key", 1008)


def test_server_builders_round_trip() -> None:
    align = (("H", 0.0, 40.0), ("i", 40.0, 60.0))
    msg = el.parse(el.audio_message(b"\x00\x01\x02\x03", align))
    assert msg == el.AudioMessage(b"\x00\x01\x02\x03", False, align)
    wire = json.loads(el.audio_message(b"", align))
    assert set(wire["alignment"]) == {"chars", "charStartTimesMs", "charDurationsMs"}
    assert wire["normalizedAlignment"] == wire["alignment"]
    assert el.parse(el.final_message()) == el.AudioMessage(b"", True, None)
    assert el.parse(el.error_message("quota_exceeded", "Out of credits", 1008)) == (
        el.ErrorMessage("quota_exceeded", "Out of credits", 1008)
    )


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        b'{"audio": ""}',  # binary frame
        "[1, 2]",
        '{"audio": "***"}',  # not base64
        '{"audio": 12}',
        '{"isFinal": "yes"}',
        '{"foo": 1}',  # neither audio, isFinal nor error
        '{"audio": "", "alignment": [1]}',
        '{"audio": "", "alignment": {"chars": ["a", "b"], "charStartTimesMs": [0],'
        ' "charDurationsMs": [1]}}',
        '{"audio": "", "alignment": {"chars": ["a"], "charStartTimesMs": [-1],'
        ' "charDurationsMs": [1]}}',
        '{"audio": "", "alignment": {"chars": [1], "charStartTimesMs": [0],'
        ' "charDurationsMs": [1]}}',
        '{"audio": "", "alignment": {"chars": ["a"], "charStartTimesMs": [0]}}',
    ],
)
def test_malformed_frames_raise_protocol_violation(frame) -> None:
    with pytest.raises(ProtocolViolation):
        el.parse(frame)


def test_parse_client_messages() -> None:
    init = el.parse_client(el.init_message("k", {"stability": 0.5}, (60, 100)))
    assert init.text == " " and init.api_key == "k" and init.chunk_length_schedule == (60, 100)
    assert el.parse_client('{"text": " ", "xi-api-key": "k2"}').api_key == "k2"
    text = el.parse_client(el.text_message("Hello.", flush=True))
    assert (text.text, text.flush, text.try_trigger_generation) == ("Hello. ", True, True)
    assert el.parse_client(el.close_message()).is_close
    assert not el.parse_client(el.flush_message()).is_close
    assert not el.parse_client(el.keepalive_message()).is_close
    for bad in ("nope", '{"flush": true}', '{"text": 3}'):
        with pytest.raises(ProtocolViolation):
            el.parse_client(bad)


# -- mapping audio to clauses by alignment ---------------------------------------------------

RATE = 1000  # one sample per millisecond keeps the arithmetic readable


def _pcm(ms: int) -> bytes:
    return b"\x01\x00" * ms


def _align(text: str, start: float = 0.0, step: float = 10.0) -> el.Alignment:
    return tuple((c, start + i * step, step) for i, c in enumerate(text))


def test_tracker_cuts_a_chunk_at_the_next_clause_first_character() -> None:
    track = ClauseTracker(RATE)
    track.add("Hi there.")
    track.add("Bye.")
    # One generation covering both clauses: "Hi there. Bye. " at 10 ms a character.
    chunks = track.place(_pcm(150), _align("Hi there. Bye. "))
    assert [(c.clause, c.last, len(c.pcm) // 2) for c in chunks] == [(0, True, 100), (1, False, 50)]
    assert "".join(a[0] for a in chunks[0].alignment or ()) == "Hi there. "
    assert chunks[1].alignment is not None
    assert chunks[1].alignment[0] == ("B", 0.0, 10.0)  # re-based on its own chunk
    assert chunks[1].text == "Bye."
    assert not track.outstanding
    assert [(c.clause, c.last, c.pcm) for c in track.finish()] == [(1, True, b"")]


def test_tracker_gives_leading_audio_to_the_clause_that_starts_the_chunk() -> None:
    track = ClauseTracker(RATE)
    track.add("One.")
    track.add("Two.")
    first = track.place(_pcm(40), _align("One."))
    assert [(c.clause, c.last) for c in first] == [(0, False)]
    assert track.outstanding
    second = track.place(_pcm(60), _align(" Two.", start=10.0))
    assert [(c.clause, c.last, len(c.pcm) // 2) for c in second] == [(0, True, 0), (1, False, 60)]


def test_tracker_without_alignment_keeps_audio_in_order() -> None:
    track = ClauseTracker(RATE)
    track.add("One.")
    track.add("Two.")
    chunks = track.place(_pcm(30), None) + track.place(_pcm(30), None)
    assert [(c.clause, c.last) for c in chunks] == [(0, False), (0, False)]
    assert [(c.clause, c.last) for c in track.finish()] == [(0, True), (1, True)]
