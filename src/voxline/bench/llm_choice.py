"""Which packaged instruct GGUF answers the clinic's callers best, and how fast.

    python -m voxline.bench.llm_choice --out bench/results/llm_choice.json

Each question has facts a correct answer must state (from the clinic system prompt) and the
answer must be speakable (no markdown, at most ~3 sentences). Timing: first token and whole
answer, with the system prompt already evaluated (as in a call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from pathlib import Path

from voxline.agent.prompts import CLINIC_SYSTEM_PROMPT
from voxline.models import CATALOG
from voxline.providers.local.llama import LlamaLLM

# (question, alternatives of facts: the answer passes if it matches every regex of one group)
QUESTIONS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("What are your opening hours?", ((r"\b8\b|eight", r"\b5\b|five"),)),
    ("Are you open on Saturday?", ((r"\bno\b|not open|closed|monday (to|through) friday",),)),
    ("Do you have anything on Tuesday?", ((r"\b10\b|ten", r"\b2\b|two"), (r"\b10\b|ten",))),
    ("Is Wednesday morning free?", ((r"\b9\b|nine",),)),
    ("Do you do teeth whitening?", ((r"\byes\b|we do|offer",),)),
    ("Can I book Thursday afternoon?", ((r"3:30|three thirty|3\.30",),)),
    ("What services do you offer?", ((r"clean", r"fill"),)),
    ("I'd like the Tuesday 2 PM slot. My name is Maria Lopez.", ((r"maria|lopez", r"\b2\b|two"),)),
)
MARKDOWN = re.compile(r"\*\*|^\s*[-*•]\s|^\s*\d+\.\s|#|`", re.MULTILINE)


def grade(answer: str, groups: tuple[tuple[str, ...], ...]) -> dict:
    text = answer.lower()
    facts = any(all(re.search(p, text) for p in group) for group in groups)
    sentences = len([s for s in re.split(r"[.!?]+\s", answer.strip()) if s])
    speakable = not MARKDOWN.search(answer) and sentences <= 3
    return {"facts_ok": facts, "speakable": speakable, "sentences": sentences}


async def measure(model_id: str) -> dict:
    llm = LlamaLLM(model_id, threads=2, temperature=0.0)
    await llm.warm(CLINIC_SYSTEM_PROMPT)
    rows = []
    for question, groups in QUESTIONS:
        messages = [
            {"role": "system", "content": CLINIC_SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ]
        start = time.perf_counter()
        first = None
        parts = []
        async for token in llm.stream(messages, max_tokens=120):
            first = first or time.perf_counter()
            parts.append(token)
        end = time.perf_counter()
        answer = "".join(parts).strip()
        rows.append(
            {
                "question": question,
                "answer": answer,
                "first_token_ms": round(((first or end) - start) * 1000, 1),
                "answer_ms": round((end - start) * 1000, 1),
                **grade(answer, groups),
            }
        )
    passed = [r["facts_ok"] and r["speakable"] for r in rows]
    return {
        "model": model_id,
        "licence": CATALOG[model_id].licence,
        "sha256": CATALOG[model_id].sha256,
        "score": round(sum(passed) / len(passed), 3),
        "first_token_ms_median": statistics.median(r["first_token_ms"] for r in rows),
        "answer_ms_median": statistics.median(r["answer_ms"] for r in rows),
        "answers": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results/llm_choice.json"))
    parser.add_argument(
        "--models", nargs="+", default=["qwen2.5-coder-0.5b-instruct", "smollm2-135m-instruct"]
    )
    args = parser.parse_args()
    results = [asyncio.run(measure(m)) for m in args.models]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"questions": len(QUESTIONS), "models": results}, indent=2))
    for r in results:
        print(
            f"{r['model']}: score {r['score']:.2f}, first token {r['first_token_ms_median']} ms, "
            f"answer {r['answer_ms_median']} ms"
        )


if __name__ == "__main__":
    main()
