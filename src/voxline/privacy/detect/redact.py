"""Text with each detected value replaced by a placeholder, stable within that one text:
the same number said twice is [PHONE_1] both times. (Stability across the turns of a call is
the vault's job: voxline.privacy.vault.)"""

from __future__ import annotations

from voxline.privacy.detect.detector import PiiDetector
from voxline.privacy.detect.entity import Entity


def placeholders(entities: list[Entity]) -> list[str]:
    """One placeholder per entity, numbered per type in order of first appearance."""
    seen: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    out: list[str] = []
    for entity in entities:
        key = (entity.type, entity.value)
        if key not in seen:
            counts[entity.type] = counts.get(entity.type, 0) + 1
            seen[key] = f"[{entity.type}_{counts[entity.type]}]"
        out.append(seen[key])
    return out


def redact_text(text: str, detector: PiiDetector, *, carry: str = "") -> str:
    """`text` with every entity replaced; unchanged, character for character, when none is
    found. Raises RedactionError (from the detector) rather than return unchecked text."""
    return replace_entities(text, detector.find(text, carry=carry))


def replace_entities(text: str, entities: list[Entity]) -> str:
    """`text` with each of `entities` (found in it) replaced by its placeholder."""
    entities = sorted(entities, key=lambda e: e.start)
    if not entities:
        return text
    pieces: list[str] = []
    pos = 0
    for entity, placeholder in zip(entities, placeholders(entities), strict=True):
        pieces.append(text[pos : entity.start])
        pieces.append(placeholder)
        pos = entity.end
    pieces.append(text[pos:])
    return "".join(pieces)
