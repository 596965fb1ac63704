"""PiiDetector: every recogniser over one utterance, overlaps resolved, offsets mapped to the
turn's text (the carry, the previous turn's tail, only helps find what straddles the two)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from voxline.privacy.detect.address import find_addresses
from voxline.privacy.detect.context import Candidate, Utterance
from voxline.privacy.detect.dates import find_dobs
from voxline.privacy.detect.email import find_emails
from voxline.privacy.detect.entity import (
    ADDRESS,
    CARD,
    DOB,
    EMAIL,
    NAME,
    PHONE,
    SSN,
    Entity,
    RedactionError,
)  # fmt: skip
from voxline.privacy.detect.govid import find_cards, find_ssns
from voxline.privacy.detect.identifiers import IdentifierRecogniser
from voxline.privacy.detect.names import NameRecogniser
from voxline.privacy.detect.phone import find_phones

if TYPE_CHECKING:
    from voxline.config import PrivacyDetectionSettings

Recogniser = Callable[[Utterance], list[Candidate]]

# At most this many words of the carry are looked at: enough for a number or a name cut in
# two ("my number is five five five" / "oh one two three"), and it bounds the cost.
CARRY_WORDS = 12
_WORD = re.compile(r"\S+")


def _resolve(candidates: list[Candidate]) -> list[Candidate]:
    """Overlapping finds: the higher priority (then the longer) wins, and its span grows to
    cover the loser's, so no part of either is left unredacted."""
    ranked = sorted(candidates, key=lambda c: (-c.priority, -(c.end - c.start), c.start))
    kept: list[Candidate] = []
    for cand in ranked:
        for k, won in enumerate(kept):
            if cand.start < won.end and won.start < cand.end:
                kept[k] = Candidate(
                    won.type, min(won.start, cand.start), max(won.end, cand.end),
                    won.value, won.priority,
                )  # fmt: skip
                break
        else:
            kept.append(cand)
    # Growing a span can make it touch another kept one; merge until stable.
    kept.sort(key=lambda c: c.start)
    merged: list[Candidate] = []
    for cand in kept:
        if merged and cand.start < merged[-1].end:
            top = merged[-1]
            winner = top if top.priority >= cand.priority else cand
            merged[-1] = Candidate(
                winner.type, top.start, max(top.end, cand.end), winner.value, winner.priority
            )
        else:
            merged.append(cand)
    return merged


class PiiDetector:
    """Finds personal data in final transcripts.

    detector = PiiDetector()
    detector.find("my number is five five five oh one two three")
    -> [Entity(PHONE, 13:44)]    (entity.value == "5550123")
    """

    def __init__(self, config: PrivacyDetectionSettings | None = None) -> None:
        if config is None:
            from voxline.config import PrivacyDetectionSettings

            config = PrivacyDetectionSettings()
        self.config = config
        enabled = set(config.types)
        table: list[tuple[str, Callable[[], Recogniser]]] = [
            (EMAIL, lambda: find_emails),
            (PHONE, lambda: find_phones),
            (SSN, lambda: find_ssns),
            (CARD, lambda: find_cards),
            (DOB, lambda: find_dobs),
            (ADDRESS, lambda: find_addresses),
            (NAME, NameRecogniser),  # loads the census name lists once per process
        ]
        self._recognisers = [make() for kind, make in table if kind in enabled]
        if config.identifiers:
            self._recognisers.append(IdentifierRecogniser(config.identifiers))

    def find(self, text: str, *, carry: str = "") -> list[Entity]:
        """Entities in `text`, in order. `carry` is the unredacted tail of the caller's
        previous final(s) in this call; an entity that begins there is reported for its part
        in `text`, with `carry_span` saying which part of `carry` belongs to it.

        Raises RedactionError when detection fails; the caller must withhold the text."""
        if not isinstance(text, str) or not isinstance(carry, str):
            raise RedactionError(
                "PII detection takes str text and carry; got "
                f"{type(text).__name__} and {type(carry).__name__}"
            )
        try:
            return self._find(text, carry)
        except RedactionError:
            raise
        except Exception as err:  # noqa: BLE001 - any recogniser fault withholds the turn
            # `from None`: the chained exception's message could quote the caller's words.
            raise RedactionError(
                f"PII detection failed ({type(err).__name__}); the turn's text was withheld"
            ) from None

    def _find(self, text: str, carry: str) -> list[Entity]:
        cut = _carry_start(carry)
        kept_carry = carry[cut:]
        offset = len(kept_carry) + 1 if kept_carry else 0
        joined = f"{kept_carry} {text}" if kept_carry else text
        utt = Utterance(joined)
        candidates = [c for fn in self._recognisers for c in fn(utt)]
        entities: list[Entity] = []
        for cand in _resolve(candidates):
            if cand.end <= offset:
                continue  # wholly in the carry: the previous turn's detection had its chance
            start = max(cand.start, offset) - offset
            while start < len(text) and text[start].isspace():
                start += 1
            end = cand.end - offset
            carry_span = None
            if cand.start < offset - 1:
                carry_span = (cut + cand.start, cut + min(cand.end, len(kept_carry)))
            entities.append(Entity(cand.type, start, end, text[start:end], cand.value, carry_span))
        return entities


def _carry_start(carry: str) -> int:
    """Index in `carry` where its last CARRY_WORDS words begin."""
    starts = [m.start() for m in _WORD.finditer(carry)]
    if not starts:
        return len(carry)
    return starts[-CARRY_WORDS] if len(starts) > CARRY_WORDS else starts[0]
