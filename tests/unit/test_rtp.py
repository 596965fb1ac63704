"""RTP packets, RFC 4733 events and RTCP reports: byte layouts and round trips."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxline.protocols.rtp.dtmf import DtmfError, DtmfReceiver, event_packets, parse_event
from voxline.protocols.rtp.packet import RtpError, RtpPacket, is_rtcp, parse_rtp, seq_newer
from voxline.protocols.rtp.rtcp import (
    RR,
    SR,
    ReceptionStats,
    ReportBlock,
    RtcpError,
    SenderInfo,
    build_bye,
    build_report,
    parse_rtcp,
)


def test_the_fixed_header_is_laid_out_as_rfc_3550_says():
    data = RtpPacket(0, 0x1234, 0xDEADBEEF, 0x01020304, b"\xff" * 160, marker=True).to_bytes()
    assert data[:12] == bytes.fromhex("80 80 1234 deadbeef 01020304".replace(" ", ""))
    assert len(data) == 172


def test_csrcs_extension_and_padding_round_trip():
    packet = RtpPacket(8, 65535, 2**32 - 1, 7, b"abc", csrc=(1, 2), extension=(0xBEDE, b"1234"))
    back = parse_rtp(packet.to_bytes())
    assert back == packet
    padded = bytearray(RtpPacket(0, 1, 2, 3, b"xy").to_bytes() + b"\x00\x00\x03")
    padded[0] |= 0x20
    assert parse_rtp(bytes(padded)).payload == b"xy"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80\x00", bytes(12), b"\x8f" + bytes(11),
     b"\x90" + bytes(11) + b"\x00\x00\x00\x05", b"\xa0" + bytes(11) + b"\x00\x00\x00\x10"],
)
def test_short_or_inconsistent_packets_are_rtp_errors(data):
    with pytest.raises(RtpError):
        parse_rtp(data)


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_random_bytes_are_a_packet_or_an_rtp_error(data):
    try:
        packet = parse_rtp(data)
    except RtpError:
        return
    assert 0 <= packet.payload_type < 128


def test_rtcp_is_told_apart_from_rtp_by_the_packet_type_byte():
    assert is_rtcp(build_bye(5))
    assert not is_rtcp(RtpPacket(0, 1, 2, 3).to_bytes())
    assert not is_rtcp(RtpPacket(101, 1, 2, 3, marker=True).to_bytes())


def test_sequence_order_survives_wrap_around():
    assert seq_newer(0, 65535) and seq_newer(5, 65530)
    assert not seq_newer(65535, 0) and not seq_newer(3, 3)


def test_a_digit_is_sent_as_updates_then_three_end_packets_with_one_timestamp():
    packets = event_packets("5", duration_ms=100)
    events = [parse_event(p.payload) for p in packets]
    assert [e.digit for e in events] == ["5"] * len(events)
    assert [p.marker for p in packets] == [True] + [False] * (len(packets) - 1)
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3


def test_the_receiver_reports_each_key_once_whatever_the_redundancy():
    receiver = DtmfReceiver()
    digits = []
    for timestamp, key in ((1000, "1"), (3000, "#"), (5000, "1")):
        for packet in event_packets(key):
            if (digit := receiver.feed(timestamp, packet.payload)) is not None:
                digits.append(digit)
    assert digits == ["1", "#", "1"]
    with pytest.raises(DtmfError):
        receiver.feed(7000, b"\x01")
    with pytest.raises(DtmfError):
        event_packets("x")


def test_an_event_code_beyond_the_keys_is_not_a_digit():
    flash = struct.pack("!BBH", 16, 0x80, 800)
    assert DtmfReceiver().feed(1, flash) is None


def test_sender_and_receiver_reports_round_trip_with_cname():
    block = ReportBlock(0xAABBCCDD, 64, -3, (1 << 16) | 12, 37, 0x12345678, 655)
    sr = build_report(1, [block], SenderInfo(1_700_000_000.25, 8000, 50, 8000), cname="vox@x")
    parsed = parse_rtcp(sr)
    (report,) = parsed.reports
    assert report.ssrc == 1 and report.blocks == [block]
    assert report.sender.packets == 50 and report.sender.ntp_time == pytest.approx(
        1_700_000_000.25, abs=1e-6)
    assert parsed.cnames == {1: "vox@x"}
    assert sr[1] == SR and len(sr) % 4 == 0
    rr = build_report(2, [])
    assert rr[1] == RR and parse_rtcp(rr).reports[0].sender is None
    assert parse_rtcp(rr + build_bye(2)).bye == [2]


@pytest.mark.parametrize("data", [b"\x80", b"\x81\xc9\x00\x07" + bytes(4), b"\x40\xc8\x00\x00"])
def test_broken_rtcp_is_an_rtcp_error(data):
    with pytest.raises(RtcpError):
        parse_rtcp(data)


def test_reception_stats_count_loss_across_a_wrap_and_reset_on_a_new_ssrc():
    stats = ReceptionStats()
    seqs = [65533, 65534, 65535, 1, 2, 4]  # 0 and 3 lost
    for i, seq in enumerate(seqs):
        stats.update(9, seq, i * 160, i * 0.02)
    block = stats.block(1.0)
    assert stats.expected == 8 and stats.lost == 2
    assert block.cumulative_lost == 2 and block.fraction_lost == (2 << 8) // 8
    assert block.highest_seq == (1 << 16) | 4
    assert block.jitter == 0  # perfectly paced arrivals
    assert stats.block(1.1).fraction_lost == 0  # nothing new since the last report
    stats.update(10, 500, 0, 2.0)
    assert stats.expected == 1 and stats.lost == 0
