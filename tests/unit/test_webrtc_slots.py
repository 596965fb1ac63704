"""Per-worker call slots: held by POST, claimed by the socket, lapsing when abandoned."""

from __future__ import annotations

import pytest

from voxline.transports.webrtc.slots import CallSlots, ServerFull


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_past_the_limit_the_worker_is_full_until_a_call_ends():
    slots = CallSlots(2, clock=Clock())
    a, b = slots.hold(), slots.hold()
    assert a != b
    with pytest.raises(ServerFull) as caught:
        slots.hold()
    assert caught.value.max_calls == 2 and "VOXLINE_WEBRTC__MAX_CALLS" in str(caught.value)
    assert slots.claim(a) and slots.active == 1 and slots.held == 1
    slots.release(a)
    assert slots.active == 0
    slots.hold()  # room again


def test_a_hold_never_claimed_lapses_and_cannot_be_claimed_late():
    clock = Clock()
    slots = CallSlots(1, hold_s=15, clock=clock)
    call_id = slots.hold()
    clock.now += 14.9
    with pytest.raises(ServerFull):
        slots.hold()
    clock.now += 0.2
    assert slots.held == 0
    assert not slots.claim(call_id)
    assert slots.claim(slots.hold())


def test_unknown_ids_and_double_claims_are_refused():
    slots = CallSlots(3, clock=Clock())
    assert not slots.claim("nope")
    call_id = slots.hold()
    assert slots.claim(call_id)
    assert not slots.claim(call_id)
    slots.release("nope")  # harmless
    assert slots.active == 1


def test_max_calls_must_be_positive():
    with pytest.raises(ValueError):
        CallSlots(0)


def test_a_held_slot_can_be_given_back_but_an_active_one_cannot():
    slots = CallSlots(1, clock=Clock())
    held = slots.hold()
    assert slots.drop_hold(held) and slots.held == 0
    active = slots.hold()
    assert slots.claim(active)
    assert not slots.drop_hold(active) and slots.active == 1
