"""ICE observability: transitions logged and counted, set-up time, and why ICE failed."""

from __future__ import annotations

import logging

from voxline.session.clock import CallClock
from voxline.transports.webrtc.ice_watch import IceWatch
from voxline.transports.webrtc.stats import EndedCall, WebRTCStats


class Nanos:
    def __init__(self) -> None:
        self.now = 5_000_000_000

    def __call__(self) -> int:
        return self.now


def watch() -> tuple[IceWatch, WebRTCStats, Nanos, list, list]:
    nanos = Nanos()
    stats = WebRTCStats()
    connected, failed = [], []
    ice = IceWatch("call-1", CallClock(nanos), stats, connected.append, failed.append)
    return ice, stats, nanos, connected, failed


def test_set_up_time_runs_from_the_offer_to_ice_connected(caplog):
    ice, stats, nanos, connected, failed = watch()
    ice.offer_received()
    nanos.now += 12_000_000
    with caplog.at_level(logging.INFO, logger="voxline.webrtc.ice"):
        ice.ice_state("checking")
        ice.connection_state("connecting")
        nanos.now += 30_500_000
        ice.ice_state("completed")
        ice.connection_state("connected")
    assert connected == [42.5] and ice.setup_ms == 42.5 and failed == []
    assert list(stats.setup_ms) == [42.5]
    counts = stats.as_dict()["state_transitions"]["server"]
    assert counts == {"ice": {"checking": 1, "completed": 1},
                      "connection": {"connecting": 1, "connected": 1}}
    lines = [r.getMessage() for r in caplog.records]
    assert "call call-1 server ice: checking -> completed" in lines
    assert all("call-1" in line for line in lines)


def test_browser_states_are_counted_on_their_own_side_with_disconnected_as_a_warning(caplog):
    ice, stats, *_ = watch()
    with caplog.at_level(logging.INFO, logger="voxline.webrtc.ice"):
        for state in ("checking", "connected", "disconnected", "connected"):
            ice.browser_state(state)
    assert stats.as_dict()["state_transitions"]["browser"]["ice"] == {
        "checking": 1, "connected": 2, "disconnected": 1,
    }
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warning] == ["call call-1 browser ice: connected -> disconnected"]


def test_failure_with_no_usable_candidates_says_so_once():
    ice, stats, _, connected, failed = watch()
    ice.offer_received()
    ice.candidate_refused("mdns")
    ice.candidate_refused("mdns")
    ice.ice_state("checking")
    ice.ice_state("failed")
    ice.connection_state("failed")  # follows the ICE failure: not a second reason
    assert len(failed) == 1 and failed[0].startswith("no usable remote candidates (2 mdns refused)")
    assert connected == [] and ice.setup_ms is None
    assert stats.refused_candidates["mdns"] == 2
    assert stats.as_dict()["ice_failures_recent"] == [{"call_id": "call-1", "reason": failed[0]}]


def test_failure_after_checks_and_after_connecting_have_their_own_reasons():
    ice, _, _, _, failed = watch()
    ice.candidate_added()
    ice.ice_state("checking")
    ice.ice_state("failed")
    assert "connectivity checks failed on every pair (1 remote candidates)" in failed[0]
    assert "TURN" in failed[0]

    ice, _, _, _, failed = watch()
    ice.offer_received()
    ice.ice_state("checking")
    ice.ice_state("completed")
    ice.ice_state("failed")
    assert failed[0].startswith("consent lost")

    ice, _, _, _, failed = watch()
    ice.ice_state("checking")
    ice.ice_state("completed")
    ice.connection_state("failed")
    assert failed == ["DTLS handshake failed after ICE connected"]


def test_ended_calls_are_counted_by_reason_kind():
    stats = WebRTCStats()
    stats.call_ended(EndedCall("a", "hangup", 30.0, 2))
    stats.call_ended(EndedCall("b", "ice_failed: no usable remote candidates", None, 0))
    stats.call_ended(EndedCall("c", "ice_failed: consent lost", 25.0, 1))
    assert stats.as_dict()["end_reasons"] == {"hangup": 1, "ice_failed": 2}
