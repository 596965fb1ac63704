"""Precision and recall per entity type on the labelled set (tests/data/pii_utterances.jsonl,
written by tests/data/make_pii_utterances.py).

How a span counts: a labelled span is *recalled* when the detector reports an entity of the
same type whose [start, end) overlaps it (so "john smith" found as "john smith, s m i t h"
counts); a reported entity is *precise* when it overlaps a labelled span of its own type. An
entity of the wrong type over a label counts against both the label's recall and the
entity's precision. Targets (issue 8): recall >= 0.98 and precision >= 0.95 for every type.
"""

from __future__ import annotations

import pytest

from voxline.bench.redaction import load, score
from voxline.privacy.detect import BUILTIN_TYPES, PiiDetector

ROWS = load()
TYPES = [*BUILTIN_TYPES, "MRN", "MEMBER_ID"]


@pytest.fixture(scope="module")
def table() -> dict[str, dict[str, float]]:
    return score(PiiDetector(), ROWS)


def test_the_set_is_big_and_varied() -> None:
    assert len(ROWS) >= 200
    assert sum(1 for row in ROWS if not row["entities"]) >= 40  # hard negatives
    for row in ROWS:
        for label in row["entities"]:
            assert row["text"][label["start"] : label["end"]] == label["text"]


@pytest.mark.parametrize("kind", TYPES)
def test_recall_and_precision(table: dict[str, dict[str, float]], kind: str) -> None:
    stats = table[kind]
    assert stats["labels"] >= 5, f"too few {kind} labels to measure"
    assert stats["recall"] >= 0.98, f"{kind} recall {stats['recall']:.3f}"
    assert stats["precision"] >= 0.95, f"{kind} precision {stats['precision']:.3f}"


def test_no_type_is_invented(table: dict[str, dict[str, float]]) -> None:
    assert set(table) <= set(TYPES)
