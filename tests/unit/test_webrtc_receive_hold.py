"""The server's aiortc receiver hands the caller's audio on as each packet arrives."""

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from voxline.bench.caller.webrtc_arrivals import StampedArrivals, stamp_audio_arrivals
from voxline.transports.webrtc.in_order_buffer import LOSS_WAIT, InOrderJitterBuffer
from voxline.transports.webrtc.receive_hold import shorten_audio_hold


def _packet(seq: int) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=seq % 65536,
                       timestamp=(960 * seq) % (1 << 32), payload=bytes([seq % 256]) * 40)
    packet._data = packet.payload  # what aiortc's receiver sets (the depacketized payload)
    return packet


def _released(buffer, seqs: list[int]) -> list[int | None]:
    """Per packet added: the frame released (its packet number), or None."""
    out = []
    for seq in seqs:
        _, frame = buffer.add(_packet(seq))
        out.append(None if frame is None else frame.timestamp // 960)
    return out


def test_packets_in_order_leave_the_moment_they_arrive():
    assert _released(InOrderJitterBuffer(), list(range(6))) == [0, 1, 2, 3, 4, 5]
    # aiortc's buffer, at its least hold, waits one packet; at its default, four.
    assert _released(JitterBuffer(capacity=16, prefetch=1), list(range(6))) == [
        None, 0, 1, 2, 3, 4]
    assert _released(JitterBuffer(capacity=16, prefetch=4), list(range(6))) == [
        None, None, None, None, 0, 1]


def test_the_payload_goes_to_the_decoder_untouched():
    _, frame = InOrderJitterBuffer().add(_packet(7))
    assert frame.data == bytes([7]) * 40 and frame.timestamp == 960 * 7


def test_a_reordered_packet_is_waited_for_and_nothing_is_lost():
    buffer = InOrderJitterBuffer()
    assert _released(buffer, [0, 2, 1, 3, 4]) == [0, None, 1, 2, 3]
    assert buffer.lost == 0 and buffer.held_max == 2


def test_a_lost_packet_is_given_up_after_the_wait_and_counted():
    buffer = InOrderJitterBuffer()
    after_gap = list(range(2, 2 + LOSS_WAIT + 1))
    released = _released(buffer, [0, *after_gap])
    assert released == [0] + [None] * LOSS_WAIT + [2]
    assert buffer.lost == 1
    assert _released(buffer, [1]) == [None] and buffer.late == 1  # too late: dropped


def test_duplicates_are_dropped():
    buffer = InOrderJitterBuffer()
    assert _released(buffer, [0, 0, 1, 1, 2]) == [0, None, 1, None, 2]
    assert buffer.late == 2


def test_sequence_numbers_wrap():
    assert _released(InOrderJitterBuffer(), [65534, 65535, 65536, 65537]) == [
        65534, 65535, 65536, 65537]


def test_a_jump_past_the_capacity_restarts_from_the_new_packet():
    buffer = InOrderJitterBuffer(capacity=16)
    assert _released(buffer, [0, 1, 500, 501]) == [0, 1, 500, 501]


async def test_the_answering_peer_gets_the_in_order_buffer_on_its_audio_receiver():
    caller, server = RTCPeerConnection(), RTCPeerConnection()
    try:
        caller.addTransceiver("audio", direction="sendrecv")
        await caller.setLocalDescription(await caller.createOffer())
        await server.setRemoteDescription(
            RTCSessionDescription(caller.localDescription.sdp, "offer"))
        (installed,) = shorten_audio_hold(server)
        (transceiver,) = server.getTransceivers()
        assert transceiver.receiver._RTCRtpReceiver__jitter_buffer is installed
        assert isinstance(installed, InOrderJitterBuffer) and installed.capacity == 16
        assert shorten_audio_hold(server) == []  # installed once: not replaced again
    finally:
        await caller.close()
        await server.close()


async def test_a_caller_times_each_packet_by_the_pts_its_decoded_frame_carries():
    caller = RTCPeerConnection()
    try:
        caller.addTransceiver("audio", direction="sendrecv")
        stamps = stamp_audio_arrivals(caller)
        assert isinstance(stamps, StampedArrivals)
        for seq in (100, 101, 103, 102):
            stamps.add(_packet(seq))
        first = stamps.arrival(0)
        assert first is not None
        assert stamps.arrival(960) >= first
        # 103 came before 102: its arrival is its own, earlier than 102's
        assert stamps.arrival(3 * 960) <= stamps.arrival(2 * 960)
        assert stamps.arrival(4 * 960) is None and stamps.arrival(None) is None
    finally:
        await caller.close()
