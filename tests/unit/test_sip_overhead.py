"""The bench's exact SIP overhead (bench/scenario/sip_overhead.py): the caller's packet that
completed the endpoint, joined by Call-ID, and the estimate for turns past the point where the
worker stopped handing on one packet per frame."""

from __future__ import annotations

from array import array
from types import SimpleNamespace

from voxline.bench.scenario.sip_overhead import caller_turn, sip_overheads

T0 = 1000.0


def caller(frames: int = 400, talkspurts=(T0 + 3.5,)) -> SimpleNamespace:
    sent = array("d", (T0 + 0.02 * i for i in range(frames)))
    return SimpleNamespace(sent_at=sent, call_id="abc@voxline-caller",
                           media=SimpleNamespace(talkspurts_at=list(talkspurts)))


def turn_result(frame: int, answered: bool = True) -> SimpleNamespace:
    return SimpleNamespace(last_voiced_frame=frame, voice_ended_at_ms=frame * 20 + 15.0,
                           answered=answered)


def record(endpoint: int, speech_end: int, exact_until: int | None, chunk_ms: float = 0.0):
    return {"transport_ref": "abc@voxline-caller",
            "audio_ms": {"speech_end": speech_end, "endpoint": endpoint},
            "stamps_ms": {"endpoint": 100.0, "tts_first_chunk": 100.0 + chunk_ms},
            "inbound": {"exact_until_ms": exact_until}}


def test_the_caller_keeps_the_voiced_packet_its_sends_and_the_first_marked_packet_after():
    fields = caller_turn(caller(), turn_result(100))
    assert fields["last_voiced_frame"] == 100
    assert fields["sends_after_voice"][0] == T0 + 2.0 and len(fields["sends_after_voice"]) == 150
    assert fields["first_media_at"] == T0 + 3.5
    assert caller_turn(caller(), turn_result(100, answered=False))["first_media_at"] is None


def test_overhead_is_first_media_less_the_send_of_the_packet_that_completed_the_endpoint():
    # Voice ends in packet 100; the worker decided at inbound position 2700 ms: packet 134
    # (the 135th) completed the window, sent at T0 + 2.68; the answer's first packet came at
    # T0 + 2.6855.
    result = {"transport_ref": "abc@voxline-caller",
              "turns": [{**caller_turn(caller(talkspurts=(T0 + 2.6855,)), turn_result(100))}]}
    overhead, method = sip_overheads([result], [record(2700, 2020, None)], [99.0])
    assert method == "exact" and overhead == [5.5]


def test_turns_past_the_first_concealment_get_the_estimate_and_the_method_says_so():
    c = caller(frames=1200, talkspurts=(T0 + 2.6855, T0 + 14.6855))
    result = {"transport_ref": "abc@voxline-caller",
              "turns": [caller_turn(c, turn_result(100)), caller_turn(c, turn_result(700))]}
    server = [record(2700, 2020, 5000), record(14700, 14020, 5000)]
    overhead, method = sip_overheads([result], server, [99.0, 88.0])
    assert overhead == [5.5, 88.0]
    assert method.startswith("exact; estimate for 1 turns")


def test_a_call_the_worker_gave_no_account_of_is_not_timed_exactly():
    result = {"transport_ref": "abc@voxline-caller",
              "turns": [caller_turn(caller(talkspurts=(T0 + 2.6855,)), turn_result(100))]}
    server = [record(2700, 2020, None)]
    del server[0]["inbound"]
    overhead, method = sip_overheads([result], server, [42.0])
    assert overhead == [42.0] and "estimate for 1 turns" in method
