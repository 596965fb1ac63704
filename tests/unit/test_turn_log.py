"""TurnLog: a call's turn records in memory, bounded, indexed by turn number."""

from __future__ import annotations

import pytest

from voxline.session.record import TurnRecord
from voxline.session.turn_log import TurnLog


def record(i: int) -> TurnRecord:
    return TurnRecord("c1", "test", index=i, transcript=f"turn {i}")


def test_reads_like_a_list_while_nothing_is_dropped():
    log = TurnLog(keep=10)
    assert not log and len(log) == 0
    for i in range(4):
        log.append(record(i))
    assert len(log) == 4
    assert [r.index for r in log] == [0, 1, 2, 3]
    assert log[2].index == 2 and log[-1].index == 3
    assert [r.index for r in reversed(log)] == [3, 2, 1, 0]
    assert log == [record(i) for i in range(4)] and TurnLog() == []
    assert [r.index for r in log[1:]] == [1, 2, 3] and log[:-2] == [record(0), record(1)]
    assert log[5:] == []


def test_keeps_the_newest_and_still_indexes_by_turn_number():
    log = TurnLog(keep=3)
    for i in range(360):
        log.append(record(i))
    assert len(log) == 360  # the next turn's index
    assert [r.index for r in log] == [357, 358, 359]
    assert log[358].index == 358 and log[-3].index == 357
    with pytest.raises(IndexError, match="no longer in memory"):
        log[10]
    with pytest.raises(IndexError, match="does not exist"):
        log[360]
    assert log != [record(i) for i in range(357, 360)]  # not the whole call any more
    assert [r.index for r in log[-2:]] == [358, 359]
    with pytest.raises(IndexError, match="no longer in memory"):
        log[350:]


def test_keep_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        TurnLog(keep=0)
