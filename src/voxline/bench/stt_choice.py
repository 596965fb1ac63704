"""Which local speech to text for the embedded profile: latency, accuracy and memory.

    chrt -r 1 .venv/bin/python -m voxline.bench.stt_choice [--moonshine-tiny DIR] [--moonshine-base DIR]

Each candidate transcribes the ten demo caller lines (key words from `voxline.demo`) and thirty
more clinic-call lines (word error rate), all spoken by the local Piper voice, twice over: as
16 kHz audio, and through a phone line (16 -> 8 kHz, G.711 mu-law both ways, the 2:1 half-band
upsampler back to 16 kHz, as the Twilio and SIP transports do). Latency is the blocking decode
of one whole utterance (what `transcribe()` waits for), two threads, after one warm-up pass;
p50/p95 over every timed pass. Each candidate runs in its own child process, so its RSS (after
load, and peak) is its own. The load average is recorded before and after: this 2-core machine
is shared, and figures taken under load are slower than on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.errors import VoxlineError

# More clinic-call lines (no digits: the engines write numbers differently), for a word error
# rate on more than the ten demo lines those lines were worded for Whisper tiny.en to hear.
EXTRA_LINES = (
    "Can I move my appointment to Thursday afternoon?",
    "I need to cancel my visit tomorrow morning.",
    "Does my insurance cover a root canal?",
    "My daughter has a loose tooth and she is in pain.",
    "Is there parking near the clinic?",
    "What is the address of your office?",
    "I would like to see the same dentist as last time.",
    "Could you send me a reminder by text message?",
    "My gums have been bleeding when I brush.",
    "How much does a checkup cost without insurance?",
    "I broke a crown while eating dinner last night.",
    "Do you accept new patients?",
    "Can my husband come to the appointment with me?",
    "I am calling to confirm my booking for Friday.",
    "The pain started yesterday and it is getting worse.",
    "Do you do braces for adults?",
    "I lost my filling and the tooth is very sensitive.",
    "Please call me back after lunch.",
    "Is the doctor available on Monday evening?",
    "I would prefer an early slot before work.",
    "My wisdom tooth is swollen.",
    "Do you offer payment plans?",
    "I have a question about my last bill.",
    "Can I bring my son for a cleaning as well?",
    "How long does an extraction take?",
    "I am allergic to penicillin.",
    "Sorry, could you repeat that please?",
    "Yes, that time works for me.",
    "No, I can't make it on that day.",
    "My phone number has changed recently.",
)

CANDIDATES = ("whisper-tiny.en", "whisper-tiny.en-window", "moonshine-tiny", "moonshine-base")


@dataclass
class Utterance:
    name: str
    text: str
    key_words: tuple[str, ...]  # empty for the extra lines
    samples: dict[str, np.ndarray] = field(default_factory=dict)  # condition -> float32 16 kHz


def words(text: str) -> list[str]:
    """Lower case, hyphens joined ("to-day" is "today"), punctuation dropped."""
    text = text.lower().replace("-", "")
    return re.findall(r"[a-z0-9']+", text)


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def phone_line(pcm16: bytes) -> bytes:
    """16 kHz PCM16 through a G.711 mu-law phone call and back to 16 kHz."""
    from voxline.audio.g711 import ulaw_decode, ulaw_encode
    from voxline.audio.halfband import Upsampler2x
    from voxline.audio.resample import resample

    narrow = resample(pcm16, 16000, 8000)
    return Upsampler2x().process(ulaw_decode(ulaw_encode(narrow)))


def load_utterances(directory: Path) -> list[Utterance]:
    from voxline.audio.wav import read_wav
    from voxline.demo import CallerLine

    extra = tuple(CallerLine(f"extra{i:02d}", text, ()) for i, text in enumerate(EXTRA_LINES, 1))
    demo_paths = synthesize_lines(directory / "demo", CALLER_LINES)
    extra_paths = synthesize_lines(directory / "extra", extra)
    out = []
    for line, path in zip(CALLER_LINES + extra, demo_paths + extra_paths):
        pcm = read_wav(path).pcm
        utt = Utterance(line.name, line.text, tuple(line.key_words))
        for condition, audio in (("16k", pcm), ("g711", phone_line(pcm))):
            utt.samples[condition] = np.frombuffer(audio, dtype=np.int16).astype(np.float32) / 32768
        out.append(utt)
    return out


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _make_engine(name: str, options: dict):
    if name == "whisper-tiny.en":
        from voxline.providers.local.whisper import WhisperSTT

        return WhisperSTT("whisper-tiny.en", threads=2)
    if name.startswith("whisper-tiny.en-window"):
        from voxline.providers.local.whisper_window import WindowedWhisperSTT

        return WindowedWhisperSTT("whisper-tiny.en", threads=2, tail_ms=options["tail_ms"])
    from voxline.bench.moonshine_candidate import MoonshineOnnx

    return MoonshineOnnx(Path(options["folder"]), threads=2)


def run_candidate(name: str, options: dict, utterances: list[Utterance], repeats: int) -> dict:
    """In a child process: load one engine, transcribe every utterance, report."""
    import resource

    before = _rss_mb()
    started = time.perf_counter()
    engine = _make_engine(name, options)
    load_s = time.perf_counter() - started
    loaded = _rss_mb()
    conditions = {}
    for condition in ("16k", "g711"):
        latencies, errors, ref_words, hits, lines = [], 0, 0, 0, []
        for utt in utterances:
            samples = utt.samples[condition]
            text = engine.decode(samples).text  # warm-up pass, and the transcript
            for _ in range(repeats):
                t0 = time.perf_counter()
                engine.decode(samples)
                latencies.append((time.perf_counter() - t0) * 1000)
            ref, hyp = words(utt.text), words(text)
            errors += edit_distance(ref, hyp)
            ref_words += len(ref)
            heard = all(k in text.lower() for k in utt.key_words)  # as the tests check
            if utt.key_words:
                hits += heard
            lines.append(
                {
                    "line": utt.name,
                    "seconds": round(samples.size / 16000, 2),
                    "text": text,
                    "key_words_heard": heard if utt.key_words else None,
                }
            )
        conditions[condition] = {
            "latency_ms": {
                "p50": round(float(np.percentile(latencies, 50)), 1),
                "p95": round(float(np.percentile(latencies, 95)), 1),
                "max": round(max(latencies), 1),
                "n": len(latencies),
            },
            "key_words": f"{hits}/{sum(1 for u in utterances if u.key_words)}",
            "key_word_lines": hits,
            "wer": round(errors / ref_words, 4),
            "transcripts": lines,
        }
    result = {
        "candidate": name,
        "options": options,
        "load_s": round(load_s, 2),
        "rss_mb": {
            "before_load": round(before, 1),
            "after_load": round(loaded, 1),
            "model_after_load": round(loaded - before, 1),
            "peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
        "conditions": conditions,
    }
    retries = getattr(engine, "full_window_retries", None)
    if retries is not None:
        result["full_window_retries"] = retries
    return result


def _child(name, options, utterances, repeats, queue) -> None:
    try:
        queue.put(run_candidate(name, options, utterances, repeats))
    # A candidate that cannot load or run is reported in the results, not a crash of the bench.
    except (VoxlineError, ImportError, OSError, RuntimeError, ValueError) as exc:
        queue.put({"candidate": name, "options": options, "error": repr(exc)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/local_stt_choice.json"))
    parser.add_argument("--audio-dir", type=Path, default=Path("var/bench/stt_choice"))
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per utterance")
    parser.add_argument(
        "--tail-ms",
        type=int,
        nargs="+",
        default=[1000, 500],
        help="padding after the utterance for whisper-tiny.en-window",
    )
    parser.add_argument(
        "--moonshine-tiny", type=Path, help="folder of moonshine tiny-en .ort files"
    )
    parser.add_argument(
        "--moonshine-base", type=Path, help="folder of moonshine base-en .ort files"
    )
    parser.add_argument("--only", nargs="+", choices=CANDIDATES, help="run only these")
    args = parser.parse_args(argv)

    runs: list[tuple[str, dict]] = [("whisper-tiny.en", {})]
    runs += [("whisper-tiny.en-window", {"tail_ms": t}) for t in args.tail_ms]
    if args.moonshine_tiny:
        runs.append(
            (
                "moonshine-tiny",
                {"folder": str(args.moonshine_tiny), "package": "moonshine-voice==0.1.0"},
            )
        )
    if args.moonshine_base:
        runs.append(
            (
                "moonshine-base",
                {"folder": str(args.moonshine_base), "package": "moonshine-cpp==0.1.4"},
            )
        )
    if args.only:
        runs = [r for r in runs if r[0] in args.only]

    utterances = load_utterances(args.audio_dir)
    load_before = os.getloadavg()
    context = multiprocessing.get_context("spawn")
    results = []
    for name, options in runs:
        queue = context.Queue()
        child = context.Process(
            target=_child, args=(name, options, utterances, args.repeats, queue)
        )
        child.start()
        result = queue.get()
        child.join()
        results.append(result)
        if "error" in result:
            print(f"{name} {options}: FAILED {result['error']}", file=sys.stderr)
            continue
        summary = "  ".join(
            f"{c}: p50 {r['latency_ms']['p50']} p95 {r['latency_ms']['p95']} ms, "
            f"key words {r['key_words']}, WER {r['wer']:.3f}"
            for c, r in result["conditions"].items()
        )
        print(
            f"{name} {options.get('tail_ms', '')}: {summary}, "
            f"model RSS {result['rss_mb']['model_after_load']} MB",
            flush=True,
        )
    report = {
        "what": "local STT candidates on the demo caller lines and 30 more clinic lines "
        "(Piper voice), 16 kHz and through G.711 mu-law",
        "command": "chrt -r 1 .venv/bin/python -m voxline.bench.stt_choice "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "threads": 2,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "repeats_per_utterance": args.repeats,
        "utterances": len(utterances),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
