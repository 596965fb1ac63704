"""Per-call structures of the turn engine stay bounded however long the call runs."""

from __future__ import annotations

from test_call_engine import make_call

from voxline.session.call import DTMF_KEPT
from voxline.session.turn_log import TurnLog


def test_dtmf_keeps_the_newest_keys():
    call = make_call([])
    for i in range(DTMF_KEPT + 500):
        call.dtmf(str(i % 10))
    assert len(call.dtmf_digits) == DTMF_KEPT
    assert call.dtmf_digits[-1] == str((DTMF_KEPT + 499) % 10)


def test_turn_records_are_a_bounded_log():
    assert isinstance(make_call([]).records, TurnLog)


def test_the_telemetry_observer_keeps_a_bounded_state_over_a_long_call():
    from voxline.session.call import CallEvent
    from voxline.session.record import TurnRecord
    from voxline.session.turn_log import TURNS_KEPT
    from voxline.telemetry.call_observer import CallObserver
    from voxline.telemetry.hub import Telemetry

    call = make_call([])
    observer = CallObserver(Telemetry(call.settings), call)
    for i in range(3 * TURNS_KEPT):
        record = TurnRecord(call.call_id, "test", index=i, voice_to_voice_ms=900.0,
                            latency={"turn_latency_ms": 2000.0 if i == 7 else 100.0})
        call.records.append(record)
        observer(CallEvent("turn", {"record": record.to_dict()}))
    assert len(observer._v2v_known) <= TURNS_KEPT
    assert observer.turn_flags == {"over_budget:turn_latency_ms"}  # turn 7's, not forgotten
