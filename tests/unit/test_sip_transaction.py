"""RFC 3261 transaction timers, driven by an injected clock (no sleeps)."""

from __future__ import annotations

import itertools

import pytest

from voxline.protocols.sip.message import Request, parse_message, response_to
from voxline.protocols.sip.transaction import (
    ClientInviteTransaction,
    ClientTransaction,
    ServerInviteTransaction,
    ServerTransaction,
    State,
    Timers,
    transaction_key,
)


def request(method: str = "INVITE", branch: str = "z9hG4bKt1") -> Request:
    return parse_message(
        f"{method} sip:agent@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5062;branch={branch}\r\n"
        "From: <sip:c@127.0.0.1>;tag=f\r\nTo: <sip:agent@127.0.0.1>\r\n"
        f"Call-ID: tx\r\nCSeq: 1 {method}\r\nContact: <sip:c@127.0.0.1:5062>\r\n\r\n".encode()
    )


def run_until(tx, end: float, step: float = 0.01) -> list[float]:
    """Poll every `step` seconds up to `end`; the times at which something was (re)sent."""
    sent = []
    for tick in range(round(end / step) + 1):
        now = tick * step  # no float accumulation: tick n is exactly n steps in
        if tx.terminated:
            break
        if tx.poll(now):
            sent.append(round(now, 2))
    return sent


def test_a_non_2xx_final_to_an_invite_is_retransmitted_on_timer_g_until_timer_h():
    tx = ServerInviteTransaction(request(), 0.0)
    assert tx.respond(response_to(tx.request, 100), 0.0)
    assert tx.respond(response_to(tx.request, 486, to_tag="x"), 0.0)
    assert tx.state is State.COMPLETED
    sent = run_until(tx, 40.0)
    # T1 doubling, capped at T2 = 4 s: 0.5, 1.5, 3.5, 7.5, 11.5, ...; Timer H at 32 s.
    assert sent[:5] == [0.5, 1.5, 3.5, 7.5, 11.5]
    assert all(b - a == pytest.approx(4.0) for a, b in itertools.pairwise(sent[3:]))
    assert sent[-1] < 32.0
    assert tx.terminated and tx.timed_out


def test_the_ack_stops_timer_g_and_timer_i_ends_the_transaction():
    tx = ServerInviteTransaction(request(), 0.0)
    tx.respond(response_to(tx.request, 488, to_tag="x"), 0.0)
    assert tx.poll(0.5)
    tx.on_ack(0.7)
    assert tx.state is State.CONFIRMED
    assert tx.deadline == pytest.approx(5.7)  # Timer I = T4
    assert tx.poll(3.0) == []
    tx.poll(5.7)
    assert tx.terminated and not tx.timed_out


def test_a_2xx_is_retransmitted_until_the_ack_and_the_call_is_kept():
    tx = ServerInviteTransaction(request(), 0.0)
    tx.respond(response_to(tx.request, 200, to_tag="x"), 0.0)
    assert tx.state is State.ACCEPTED
    assert run_until(tx, 2.0) == [0.5, 1.5]
    tx.on_ack(2.0)
    assert tx.poll(3.5) == []  # no more 2xx copies once acknowledged
    tx.poll(40.0)
    assert tx.terminated and not tx.timed_out


def test_a_2xx_never_acknowledged_times_out_at_64_t1():
    tx = ServerInviteTransaction(request(), 0.0)
    tx.respond(response_to(tx.request, 200, to_tag="x"), 0.0)
    run_until(tx, 40.0)
    assert tx.terminated and tx.timed_out


def test_a_retransmitted_invite_gets_the_last_provisional_again():
    tx = ServerInviteTransaction(request(), 0.0)
    assert tx.on_retransmission(0.1) == []
    tx.respond(response_to(tx.request, 180, to_tag="x"), 0.2)
    (again,) = tx.on_retransmission(0.3)
    assert again.startswith(b"SIP/2.0 180 Ringing")


def test_a_transaction_takes_no_second_final_response():
    tx = ServerInviteTransaction(request(), 0.0)
    tx.respond(response_to(tx.request, 200, to_tag="x"), 0.0)
    with pytest.raises(RuntimeError):
        tx.respond(response_to(tx.request, 487, to_tag="x"), 0.1)


def test_reliable_transports_neither_retransmit_nor_linger():
    tx = ServerInviteTransaction(request(), 0.0, Timers(reliable=True))
    tx.respond(response_to(tx.request, 486, to_tag="x"), 0.0)
    assert tx.poll(10.0) == []
    tx.on_ack(1.0)
    assert tx.terminated


def test_non_invite_server_transaction_absorbs_retransmissions_for_timer_j():
    tx = ServerTransaction(request("BYE"), 0.0)
    assert tx.on_retransmission(0.1) == []  # Trying: nothing to repeat yet
    tx.respond(response_to(tx.request, 200), 0.2)
    assert tx.on_retransmission(1.0)[0].startswith(b"SIP/2.0 200 OK")
    assert tx.deadline == pytest.approx(32.2)  # Timer J = 64*T1
    tx.poll(32.2)
    assert tx.terminated and not tx.timed_out


def test_client_invite_retransmits_on_timer_a_without_a_cap_then_times_out_on_b():
    tx = ClientInviteTransaction(request(), 0.0)
    assert tx.start()[0].startswith(b"INVITE ")
    sent = run_until(tx, 40.0)
    assert sent == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert tx.terminated and tx.timed_out


def test_client_invite_acks_a_failure_itself_and_again_for_a_retransmitted_one():
    tx = ClientInviteTransaction(request(), 0.0)
    busy = response_to(tx.request, 486, to_tag="callee")
    deliver, sends = tx.on_response(busy, 0.3)
    assert deliver
    ack = parse_message(sends[0])
    assert ack.method == "ACK" and ack.top_via.branch == "z9hG4bKt1"
    assert ack.to.tag == "callee" and ack.cseq == (1, "ACK")
    assert tx.on_response(busy, 0.9) == (False, sends)
    tx.poll(40.0)
    assert tx.terminated and not tx.timed_out


def test_client_invite_stops_retransmitting_once_it_rings():
    tx = ClientInviteTransaction(request(), 0.0)
    tx.on_response(response_to(tx.request, 180, to_tag="c"), 0.2)
    assert run_until(tx, 60.0) == []
    assert tx.state is State.PROCEEDING


def test_client_non_invite_retransmits_on_timer_e_capped_at_t2_and_lingers_on_k():
    tx = ClientTransaction(request("BYE"), 0.0)
    sent = run_until(tx, 12.0)
    assert sent == [0.5, 1.5, 3.5, 7.5, 11.5]
    deliver, _ = tx.on_response(response_to(tx.request, 200), 12.0)
    assert deliver and tx.state is State.COMPLETED
    assert tx.deadline == pytest.approx(17.0)  # Timer K = T4
    assert tx.on_response(response_to(tx.request, 200), 12.5) == (False, [])


def test_ack_and_cancel_keys_find_the_invite_transaction_and_old_peers_are_keyed_too():
    invite, ack = request("INVITE"), request("ACK")
    assert transaction_key(invite) == transaction_key(ack)
    assert transaction_key(request("CANCEL"))[2] == "CANCEL"
    old = request("INVITE", branch="oldstyle")
    assert transaction_key(old)[0].startswith("tx|1|")
