"""The caller's audio handed on as it arrives, in order, without I/O.

A turn engine counts frames: it needs the caller's audio complete, in order and with bounded
delay, not smoothed onto a playout clock (that is jitter.py, and it cost SIP ~100 ms per turn).
`push` takes each packet as it arrives and returns what may be handed on now; `tick`, called
every packet interval or so, returns what time alone released. Times are seconds on any
monotonic clock. The rules:

 1. In order: a packet that is the next in sequence is released at once, with the queued
    packets that follow it without a gap.
 2. Reordering: a packet after a gap is queued; the gap waits at most `gap_wait_s` from the
    arrival of the oldest packet queued. Then every missing slot is concealed (conceal.py: the
    last frame faded, then comfort noise) and the queue released, so the engine's audio clock
    keeps the caller's time.
 3. A packet whose slot was concealed is dropped and counted `late`; one already released (or
    queued) is a `duplicate`.
 4. Nothing arriving (hold, DTX, a stalled network): once the next packet is `stall_after_s`
    overdue (`quiet_stall_after_s` after a slot with no audio: the sender said it went quiet),
    one fill per packet interval (faded, then comfort noise) keeps the engine's clock running,
    and no faster. Fills are time the caller did not send, not slots: a packet that
    comes after them is released, and if the sequence jumped the fills cover that many missing
    slots (the same time is never concealed twice).
 5. A jump ahead of more than `max_gap` slots not covered by fills, or a packet more than
    `max_gap` behind, is the sender starting over (a restart, a resumed stream): a `resync`,
    released at once, nothing concealed. A new SSRC is one too, after what is queued is
    released.
 6. Bounded: past `max_queued` packets waiting, the oldest gap is concealed at once.

Slots with no audio (`pcm=None`: telephone-event and comfort-noise packets, which keep their
own meaning elsewhere) are released as one interval of silence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from voxline.protocols.rtp.conceal import Concealer, Played

GAP_WAIT_S = 0.04  # reordering on real networks is a few ms; loss waits at most this
# The next packet this overdue: the caller stopped sending, fill. After audio, longer: a sender
# that stalls mid-speech (a busy host, Wi-Fi) usually sends the late packets in a burst, and
# fills before them would be time the engine gets twice. After comfort noise or an event
# packet the sender has said it went quiet: fill soon, so the endpointer hears the silence.
STALL_AFTER_S = 0.2
QUIET_STALL_AFTER_S = 0.06
MAX_GAP = 50  # slots (1 s at 20 ms): a jump past this is a restart, not a loss
MAX_QUEUED = 50
MAX_FILLS_PER_TICK = 3  # after a stalled loop: catch up a little, never in a burst
CONCEALED_KEPT = 64  # concealed slots remembered, to tell a late packet from a duplicate


@dataclass
class InOrderStats:
    received: int = 0
    released: int = 0  # packets handed on (audio and no-audio slots)
    late: int = 0
    duplicates: int = 0
    concealed: int = 0  # missing slots concealed after the gap wait
    filled: int = 0  # frames given while nothing arrived (rule 4)
    covered: int = 0  # missing slots that fills had already stood in for
    resyncs: int = 0


class InOrderReceiver:
    def __init__(self, rate: int = 8000, frame_samples: int = 160, *,
                 gap_wait_s: float = GAP_WAIT_S, stall_after_s: float = STALL_AFTER_S,
                 quiet_stall_after_s: float = QUIET_STALL_AFTER_S, max_gap: int = MAX_GAP,
                 max_queued: int = MAX_QUEUED, seed: int = 0) -> None:
        if min(gap_wait_s, stall_after_s, quiet_stall_after_s) < 0 or min(max_gap,
                                                                          max_queued) < 1:
            raise ValueError("gap_wait_s and the stall times must be >= 0, max_gap and "
                             "max_queued >= 1")
        self.rate = rate
        self.gap_wait_s = gap_wait_s
        self.stall_after_s = stall_after_s
        self.quiet_stall_after_s = quiet_stall_after_s
        self.max_gap = max_gap
        self.max_queued = max_queued
        self.stats = InOrderStats()
        self._concealer = Concealer(frame_samples, seed=seed)
        self._ssrc: int | None = None
        self._start_over()

    def _start_over(self) -> None:
        self._next: int | None = None  # the sequence number to release next
        self._queue: dict[int, tuple[bytes | None, float]] = {}  # seq -> (pcm, arrival)
        self._concealed: deque[int] = deque(maxlen=CONCEALED_KEPT)
        self._fill_at: float | None = None  # when the next fill is due (rule 4)
        self._credit = 0  # fills since the last release, not yet set against missing slots

    @property
    def waiting(self) -> int:
        """Packets queued behind a gap."""
        return len(self._queue)

    def deadline(self) -> float | None:
        """When `tick` next has something to do (a gap's wait ends, a fill is due)."""
        if self._queue:
            return min(at for _, at in self._queue.values()) + self.gap_wait_s
        return self._fill_at

    # -- in ------------------------------------------------------------------------------------

    def push(self, seq: int, ssrc: int, pcm: bytes | None, now: float) -> list[Played]:
        """One packet as it arrived (`pcm` decoded, None for a slot with no audio)."""
        self.stats.received += 1
        out: list[Played] = []
        if ssrc != self._ssrc:
            if self._ssrc is not None:
                out += self._flush(now)
                self.stats.resyncs += 1
            self._ssrc = ssrc
            self._start_over()
        if self._next is None:
            self._next = seq
        ahead = (seq - self._next) & 0xFFFF
        if ahead >= 0x8000:  # behind the next slot
            if 0x10000 - ahead <= self.max_gap:
                if seq in self._concealed:
                    self.stats.late += 1
                else:
                    self.stats.duplicates += 1
                return out
            out += self._resync(seq, now)
        elif seq in self._queue:
            self.stats.duplicates += 1
            return out
        elif 0 < ahead <= self._credit:
            self._skip(ahead, covered=True)  # fills already stood in for the missing slots
        elif ahead - self._credit > self.max_gap:
            out += self._resync(seq, now)
        self._queue[seq] = (pcm, now)
        out += self._release(now)
        if len(self._queue) > self.max_queued:
            out += self._conceal_gap(now)
        return out

    def tick(self, now: float) -> list[Played]:
        """What time released: gaps whose wait is over, fills while nothing arrives."""
        out: list[Played] = []
        while self._queue and now >= self.deadline():  # type: ignore[operator]
            out += self._conceal_gap(now)
        fills = 0
        while (not self._queue and self._fill_at is not None and now >= self._fill_at
               and fills < MAX_FILLS_PER_TICK):
            out.append(self._concealer.conceal())
            self.stats.filled += 1
            self._credit += 1
            fills += 1
            self._fill_at += self._interval()
        if self._fill_at is not None and now >= self._fill_at and not self._queue:
            self._fill_at = now + self._interval()  # far behind: go on from now, no burst
        return out

    # -- inside --------------------------------------------------------------------------------

    def _interval(self) -> float:
        return self._concealer.samples / self.rate

    def _release(self, now: float) -> list[Played]:
        out: list[Played] = []
        assert self._next is not None
        quiet = False
        while self._next in self._queue:
            pcm, _ = self._queue.pop(self._next)
            self._next = (self._next + 1) & 0xFFFF
            self.stats.released += 1
            quiet = pcm is None
            if pcm is None:
                self._concealer.forget()
                out.append(Played(self._concealer.silence(), "silence"))
            else:
                self._concealer.heard(pcm)
                out.append(Played(pcm, "audio"))
        if out:
            self._credit = 0
            stall = self.quiet_stall_after_s if quiet else self.stall_after_s
            self._fill_at = now + self._interval() + stall
        return out

    def _skip(self, slots: int, *, covered: bool) -> None:
        """Give up on the next `slots` slots (concealed, or covered by fills)."""
        assert self._next is not None
        for _ in range(slots):
            self._concealed.append(self._next)
            self._next = (self._next + 1) & 0xFFFF
        if covered:
            self.stats.covered += slots
            self._credit -= slots

    def _conceal_gap(self, now: float) -> list[Played]:
        """The oldest gap waited long enough: conceal its slots (less what fills stood in
        for), then release what follows it."""
        assert self._next is not None and self._queue
        missing = min((s - self._next) & 0xFFFF for s in self._queue)
        covered = min(missing, self._credit)
        self._skip(covered, covered=True)
        out = []
        for _ in range(missing - covered):
            out.append(self._concealer.conceal())
        self.stats.concealed += missing - covered
        self._skip(missing - covered, covered=False)
        return out + self._release(now)

    def _flush(self, now: float) -> list[Played]:
        out = []
        while self._queue:
            out += self._conceal_gap(now)
        return out

    def _resync(self, seq: int, now: float) -> list[Played]:
        out = self._flush(now)
        self.stats.resyncs += 1
        self._next = seq
        self._credit = 0
        self._concealed.clear()
        return out
