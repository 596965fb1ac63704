"""Per-call structures of the turn engine stay bounded however long the call runs."""

from __future__ import annotations

from voxline.session.call import DTMF_KEPT
from voxline.session.turn_log import TurnLog

from test_call_engine import make_call


def test_dtmf_keeps_the_newest_keys():
    call = make_call([])
    for i in range(DTMF_KEPT + 500):
        call.dtmf(str(i % 10))
    assert len(call.dtmf_digits) == DTMF_KEPT
    assert call.dtmf_digits[-1] == str((DTMF_KEPT + 499) % 10)


def test_turn_records_are_a_bounded_log():
    assert isinstance(make_call([]).records, TurnLog)
