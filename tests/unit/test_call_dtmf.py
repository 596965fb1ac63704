"""DTMF reaches the turn engine: kept in order, told to observers, and the call goes on."""

from __future__ import annotations

import pytest
from test_call_engine import make_call, run


async def test_digits_are_kept_in_order_and_observed_while_a_turn_is_answered():
    call = make_call(["what are your hours"])
    seen: list[tuple[str, str]] = []
    call.observe(lambda e: seen.append((e.kind, e.data.get("digit", ""))))

    async def script(line):
        call.dtmf("1")
        await line.utterance_and_answer()
        call.dtmf("#")
        call.dtmf("0")

    await run(call, script)
    assert call.dtmf_digits == ["1", "#", "0"]
    assert [d for kind, d in seen if kind == "dtmf"] == ["1", "#", "0"]
    # The key presses did not disturb the turn.
    assert [r.outcome for r in call.records] == ["answered"]
    assert call.records[0].transcript == "what are your hours"


@pytest.mark.parametrize("bad", ["", "12", "x", "E", "#1"])
def test_a_value_that_is_not_one_key_is_refused(bad):
    call = make_call([])
    with pytest.raises(ValueError, match="DTMF"):
        call.dtmf(bad)
    assert call.dtmf_digits == []
