"""Deepgram's live-streaming wire format: the documented example messages, round trips, the URL."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from voxline.errors import ProtocolViolation
from voxline.protocols import deepgram as dg

# Shapes as in Deepgram's docs (developers.deepgram.com: speech-started, utterance-end,
# close-stream, and the SDK's LiveTranscriptionEvent for Results).
DOC_RESULTS = """{
  "type": "Results",
  "channel_index": [0, 1],
  "duration": 1.98,
  "start": 5.99,
  "is_final": true,
  "speech_final": true,
  "channel": {"alternatives": [{
      "transcript": "Tell me more about this.",
      "confidence": 0.99964225,
      "words": [
        {"word": "tell", "start": 6.0699997, "end": 6.3499994, "confidence": 0.99782443,
         "punctuated_word": "Tell"},
        {"word": "me", "start": 6.3499994, "end": 6.6299996, "confidence": 0.9998324,
         "punctuated_word": "me"}
      ]}]},
  "metadata": {"request_id": "52cc0efe-fa77-4aa7-b79c-0dda09de2f14",
               "model_info": {"name": "2-general-nova", "version": "2024-01-18.26916",
                              "arch": "nova-2"},
               "model_uuid": "c0d1a568-ce81-4fea-97e7-bd45cb1fdf3c"},
  "from_finalize": false
}"""
DOC_SPEECH_STARTED = '{"type": "SpeechStarted", "channel": [0, 1], "timestamp": 9.54}'
DOC_UTTERANCE_END = '{"channel": [0, 1], "last_word_end": 2.395, "type": "UtteranceEnd"}'
DOC_METADATA = """{"type": "Metadata", "transaction_key": "deprecated",
  "request_id": "8c8ebea9-dbec-45fa-a035-e4632cb05b5f",
  "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "created": "2024-08-29T22:37:55.202Z", "duration": 0.0, "channels": 0}"""


def test_documented_results_message() -> None:
    event = dg.parse(DOC_RESULTS)
    assert isinstance(event, dg.Results)
    assert event.transcript == "Tell me more about this."
    assert event.confidence == pytest.approx(0.99964225)
    assert (event.is_final, event.speech_final, event.from_finalize) == (True, True, False)
    assert event.start == pytest.approx(5.99) and event.duration == pytest.approx(1.98)
    assert [w.punctuated_word for w in event.words] == ["Tell", "me"]
    assert event.words[0].start == pytest.approx(6.0699997)


def test_documented_speech_started_utterance_end_and_metadata() -> None:
    assert dg.parse(DOC_SPEECH_STARTED) == dg.SpeechStarted(9.54)
    assert dg.parse(DOC_UTTERANCE_END) == dg.UtteranceEnd(2.395)
    assert dg.parse(DOC_METADATA) == dg.Metadata("8c8ebea9-dbec-45fa-a035-e4632cb05b5f", 0.0)


def test_interim_result_without_optional_flags_is_not_final() -> None:
    data = json.loads(DOC_RESULTS)
    for key in ("is_final", "speech_final", "from_finalize"):
        del data[key]
    del data["channel"]["alternatives"][0]["words"]
    event = dg.parse(json.dumps(data))
    assert isinstance(event, dg.Results)
    assert (event.is_final, event.speech_final, event.from_finalize, event.words) == (
        False, False, False, ()
    )


def test_results_round_trip_through_the_builder() -> None:
    words = dg.make_words("Is Wednesday free?", 0.5, 1.7, 0.9)
    text = dg.results_message(
        "Is Wednesday free?", start=0.2, duration=1.8, is_final=True, speech_final=False,
        from_finalize=True, confidence=0.9, words=words, request_id="r1",
    )
    event = dg.parse(text)
    assert event == dg.Results(
        "Is Wednesday free?", 0.9, True, False, True, 0.2, 1.8, words
    )
    assert [w.word for w in words] == ["is", "wednesday", "free"]
    assert words[0].start == 0.5 and words[-1].end == pytest.approx(1.7)


def test_event_builders_round_trip() -> None:
    assert dg.parse(dg.speech_started_message(1.24)) == dg.SpeechStarted(1.24)
    assert dg.parse(dg.utterance_end_message(3.5)) == dg.UtteranceEnd(3.5)
    assert dg.parse(dg.metadata_message("abc", 12.3456)) == dg.Metadata("abc", 12.346)


def test_control_messages() -> None:
    assert json.loads(dg.keepalive()) == {"type": "KeepAlive"}
    assert json.loads(dg.finalize()) == {"type": "Finalize"}
    assert json.loads(dg.close_stream()) == {"type": "CloseStream"}
    for build in (dg.keepalive, dg.finalize, dg.close_stream):
        assert dg.parse_control(build()) == json.loads(build())["type"]
    with pytest.raises(ProtocolViolation, match="Flush"):
        dg.parse_control('{"type": "Flush"}')


def test_listen_url_query_parameters() -> None:
    url = dg.listen_url(
        "wss://api.deepgram.com/v1/listen", "nova-3", encoding="mulaw", sample_rate=8000,
        endpointing_ms=300, utterance_end_ms=1000,
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", "api.deepgram.com", "/v1/listen")
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q == {
        "model": "nova-3", "encoding": "mulaw", "sample_rate": "8000", "channels": "1",
        "interim_results": "true", "punctuate": "true", "smart_format": "true",
        "endpointing": "300", "vad_events": "true", "utterance_end_ms": "1000",
    }
    params = dg.parse_listen_query(parts.query)
    assert params == dg.ListenParams("nova-3", "mulaw", 8000, endpointing_ms=300)


def test_listen_url_disables_endpointing_and_utterance_end() -> None:
    url = dg.listen_url(
        "ws://127.0.0.1:9/v1/listen?tag=x", "nova-3", encoding="linear16", sample_rate=16000,
        endpointing_ms=None, utterance_end_ms=None,
    )
    q = parse_qs(urlsplit(url).query)
    assert q["endpointing"] == ["false"] and "utterance_end_ms" not in q and q["tag"] == ["x"]
    params = dg.parse_listen_query(urlsplit(url).query)
    assert params.endpointing_ms is None and params.utterance_end_ms is None


def test_listen_url_rejects_impossible_options() -> None:
    with pytest.raises(ValueError, match="interim_results"):
        dg.listen_url("wss://h/v1/listen", "m", encoding="linear16", sample_rate=16000,
                      interim_results=False, utterance_end_ms=1000)
    with pytest.raises(ValueError, match="encoding"):
        dg.listen_url("wss://h/v1/listen", "m", encoding="opus", sample_rate=16000)
    with pytest.raises(ValueError, match="ws://"):
        dg.listen_url("https://h/v1/listen", "m", encoding="linear16", sample_rate=16000)


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("encoding=linear16", "sample_rate"),
        ("encoding=flac&sample_rate=16000", "encoding"),
        ("encoding=linear16&sample_rate=16000&vad_events=yes", "vad_events"),
        ("encoding=linear16&sample_rate=-1", "sample_rate"),
    ],
)
def test_bad_listen_query_raises(query: str, what: str) -> None:
    with pytest.raises(ProtocolViolation, match=what):
        dg.parse_listen_query(query)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "list"),
        ('{"channel": [0, 1]}', "'type'"),
        ('{"type": "SpeechStarted"}', "'timestamp'"),
        ('{"type": "UtteranceEnd", "last_word_end": "2.3"}', "'last_word_end'"),
        ('{"type": "Metadata", "duration": 1.0}', "'request_id'"),
        ('{"type": "Results", "start": 0, "duration": 1}', "'channel'"),
        ('{"type": "Results", "start": 0, "duration": 1, "channel": {"alternatives": []}}',
         "empty"),
        ('{"type": "Results", "duration": 1, "channel": {"alternatives": '
         '[{"transcript": "x", "confidence": 1}]}}', "'start'"),
        ('{"type": "Results", "start": 0, "duration": 1, "is_final": "yes", "channel": '
         '{"alternatives": [{"transcript": "x", "confidence": 1}]}}', "'is_final'"),
        ('{"type": "Results", "start": 0, "duration": true, "channel": '
         '{"alternatives": [{"transcript": "x", "confidence": 1}]}}', "'duration'"),
        ('{"type": "Results", "start": 0, "duration": 1, "channel": {"alternatives": '
         '[{"transcript": "x", "confidence": 1, "words": [{"word": "x"}]}]}}', "'start'"),
    ],
)
def test_malformed_messages_raise_protocol_violation(text: str, what: str) -> None:
    with pytest.raises(ProtocolViolation, match=what):
        dg.parse(text)


def test_unknown_message_type_is_reported_not_raised() -> None:
    assert dg.parse('{"type": "SomethingNew", "x": 1}') == dg.Unknown("SomethingNew")
