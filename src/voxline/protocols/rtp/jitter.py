"""An adaptive jitter buffer for one narrowband audio stream, without I/O.

Packets go in as they arrive (`push`, with their arrival time); audio comes out at the playout
rate (`pop`, once per packet interval). In between:

 1. Reordering: packets are keyed by sequence number; one that arrives after its slot was
    played is late and dropped (counted), a second copy is a duplicate (counted).
 2. Delay adapts to the measured jitter (RFC 3550 A.8 interarrival estimate): the target depth
    is a few times the jitter, between `min_frames` and `max_frames`. Playout starts once the
    target is queued; an underrun holds the playout point (the late packet will still play:
    the delay grew by one frame); a queue that stays above target drops one frame now and then
    (the delay shrinks); a queue past `max_frames` is cut back at once (bounded delay).
 3. Loss concealment (conceal.py): a missing packet whose successors are here is lost: the
    last frame is repeated at falling gain, then comfort noise until audio resumes.

The SIP transport no longer plays the caller through this buffer (the turn engine takes audio
as it arrives: in_order.py); it stays for a listener that needs a steady playout clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxline.protocols.rtp.conceal import COMFORT_NOISE_RMS, FADE, Concealer, Played
from voxline.protocols.rtp.packet import seq_newer

__all__ = ["COMFORT_NOISE_RMS", "FADE", "JitterBuffer", "JitterStats", "Played"]

SHRINK_AFTER = 25  # pops spent above target (0.5 s at 20 ms) before one frame is dropped


@dataclass
class JitterStats:
    received: int = 0
    played: int = 0
    late: int = 0
    duplicates: int = 0
    concealed: int = 0  # frames rebuilt from the last one after a loss or underrun
    comfort: int = 0  # frames of comfort noise (a long loss, or the caller stopped sending)
    dropped: int = 0  # discarded to bound or shrink the delay
    resyncs: int = 0


class JitterBuffer:
    def __init__(self, rate: int = 8000, frame_samples: int = 160, *, min_frames: int = 1,
                 max_frames: int = 10, seed: int = 0) -> None:
        if not 1 <= min_frames <= max_frames:
            raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
        self.rate = rate
        self.frame_samples = frame_samples
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.stats = JitterStats()
        self._concealer = Concealer(frame_samples, seed=seed)
        self.reset()

    def reset(self) -> None:
        """Forget the stream (a new SSRC): playout starts over."""
        self._packets: dict[int, bytes | None] = {}
        self._next: int | None = None
        self._newest: int | None = None
        self._started = False
        self._concealer.reset()
        self._above_target = 0
        self._jitter = 0.0  # in timestamp units, as RFC 3550 keeps it
        self._transit: float | None = None

    # -- measurements --------------------------------------------------------------------------

    @property
    def jitter_ms(self) -> float:
        return self._jitter * 1000 / self.rate

    @property
    def target_frames(self) -> int:
        frame_ms = self.frame_samples * 1000 / self.rate
        wanted = 1 + round(3 * self.jitter_ms / frame_ms)
        return max(self.min_frames, min(self.max_frames, wanted))

    @property
    def depth_frames(self) -> int:
        """Frames of playout time queued, gaps included (the delay this buffer adds)."""
        if self._next is None or self._newest is None or not self._packets:
            return 0
        return ((self._newest - self._next) & 0xFFFF) + 1

    # -- in ------------------------------------------------------------------------------------

    def push(self, seq: int, timestamp: int, pcm: bytes | None, arrival_s: float) -> bool:
        """One packet's decoded audio (None: a slot with no audio, e.g. a DTMF event packet).
        False when it was late or a duplicate and so not kept."""
        self.stats.received += 1
        if pcm is not None:  # event packets repeat one timestamp: they say nothing of jitter
            self._measure_jitter(timestamp, arrival_s)
        if self._next is None:
            self._next = self._newest = seq
        elif not seq_newer(seq, self._next) and seq != self._next:
            if self._started or (self._next - seq) & 0xFFFF > self.max_frames:
                self.stats.late += 1
                return False
            self._next = seq  # reordered before playout began: it still has its slot
        if seq in self._packets:
            self.stats.duplicates += 1
            return False
        self._packets[seq] = pcm
        if self._newest is None or seq_newer(seq, self._newest):
            self._newest = seq
        if self.depth_frames > self.max_frames:
            if self.depth_frames > 2 * self.max_frames:
                self.stats.resyncs += 1  # the sender jumped (a restart, a long pause)
            self._cut_to(self.target_frames)
        return True

    def _measure_jitter(self, timestamp: int, arrival_s: float) -> None:
        transit = arrival_s * self.rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < self.rate * 10:  # a timestamp jump (new talk spurt clock) is not jitter
                self._jitter += (d - self._jitter) / 16
        self._transit = transit

    def _cut_to(self, frames: int) -> None:
        """Drop the oldest slots until `frames` remain queued."""
        assert self._next is not None and self._newest is not None
        if self.depth_frames <= frames:
            return
        self._next = (self._newest - frames + 1) & 0xFFFF
        for seq in [s for s in self._packets if (self._newest - s) & 0xFFFF >= frames]:
            if self._packets.pop(seq) is not None:
                self.stats.dropped += 1

    # -- out -----------------------------------------------------------------------------------

    def pop(self) -> Played:
        """The next packet interval of audio. Call at the stream's packet rate."""
        if not self._started:
            if not self._packets or self.depth_frames < self.target_frames:
                return Played(self._silence(), "silence")
            self._started = True
        assert self._next is not None
        if self._next in self._packets:
            return self._play(self._packets.pop(self._next))
        if not self._packets:
            return self._conceal()  # underrun: hold the playout point, the packet may come
        # A loss. (Gaps are never longer than max_frames: push cuts the queue to the bound,
        # so a sender that jumped resumes at once instead of a long concealment.)
        self._next = (self._next + 1) & 0xFFFF  # a loss: its successors are already here
        return self._conceal()

    def _play(self, pcm: bytes | None) -> Played:
        assert self._next is not None
        self._next = (self._next + 1) & 0xFFFF
        self.stats.played += 1
        self._adapt()
        if pcm is None:
            return Played(self._silence(), "silence")
        self._concealer.heard(pcm)
        return Played(pcm, "audio")

    def _adapt(self) -> None:
        """A queue that stays above target for SHRINK_AFTER pops gives up one frame."""
        if self.depth_frames > self.target_frames + 1:
            self._above_target += 1
            if self._above_target >= SHRINK_AFTER:
                self._above_target = 0
                self._cut_to(self.depth_frames - 1)
        else:
            self._above_target = 0

    def _conceal(self) -> Played:
        played = self._concealer.conceal()
        if played.kind == "concealed":
            self.stats.concealed += 1
        else:
            self.stats.comfort += 1
        return played

    def _silence(self) -> bytes:
        return self._concealer.silence()
