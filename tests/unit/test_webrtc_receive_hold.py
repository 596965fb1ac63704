"""The server's aiortc receiver hands the caller's audio on after one packet, not four."""

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from voxline.transports.webrtc.receive_hold import AUDIO_PREFETCH, shorten_audio_hold


def _packet(seq: int) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=960 * seq,
                       payload=bytes(40))
    packet._data = packet.payload  # what aiortc's receiver sets (the depacketized payload)
    return packet


def _released_after(buffer: JitterBuffer, packets: int) -> list[int]:
    """Sequence numbers of the frames released while `packets` packets arrive in order."""
    out = []
    for seq in range(packets):
        _, frame = buffer.add(_packet(seq))
        if frame is not None:
            out.append(frame.timestamp // 960)
    return out


def test_one_packet_hold_releases_each_frame_when_the_next_arrives():
    assert _released_after(JitterBuffer(capacity=16, prefetch=4), 6) == [0, 1]  # aiortc's
    assert _released_after(JitterBuffer(capacity=16, prefetch=AUDIO_PREFETCH), 6) == [0, 1, 2, 3, 4]


def test_a_reordered_packet_is_still_waited_for():
    buffer = JitterBuffer(capacity=16, prefetch=AUDIO_PREFETCH)
    assert buffer.add(_packet(0))[1] is None
    assert buffer.add(_packet(2))[1] is None  # 1 is missing: nothing past it goes out
    _, frame = buffer.add(_packet(1))
    assert frame is not None and frame.timestamp == 0
    _, frame = buffer.add(_packet(3))
    assert frame is not None and frame.timestamp == 960


async def test_the_answering_peer_gets_the_short_hold_on_its_audio_receiver():
    caller, server = RTCPeerConnection(), RTCPeerConnection()
    try:
        caller.addTransceiver("audio", direction="sendrecv")
        await caller.setLocalDescription(await caller.createOffer())
        await server.setRemoteDescription(
            RTCSessionDescription(caller.localDescription.sdp, "offer"))
        assert shorten_audio_hold(server) == 1
        (transceiver,) = server.getTransceivers()
        buffer = transceiver.receiver._RTCRtpReceiver__jitter_buffer
        assert buffer._prefetch == AUDIO_PREFETCH and buffer.capacity == 16
    finally:
        await caller.close()
        await server.close()
