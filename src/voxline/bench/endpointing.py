"""Choose the default trailing silence: cut rate vs endpoint delay on paused caller utterances.

    .venv/bin/python -m voxline.bench.endpointing --out bench/results/endpointing.json

Each utterance is a clinic-booking sentence whose clauses are synthesized separately with the
local Piper voice, trimmed to their audible extent, and joined by sampled within-turn pauses, so
both the pause lengths and the true end of speech are known exactly. For every candidate
trailing silence it runs VAD (Silero, and webrtcvad for comparison) + Endpointer and records how
often the turn is cut mid-sentence and the endpoint delay. See docs/endpointing.md.

Adaptive endpointing is measured on the same audio: at every SilenceStarted, whisper tiny.en
transcribes the turn so far (as the engine's speculative STT does), vad/completeness.py judges
it, and a finished-sounding pause ends after `complete_silence_ms` instead of the full window.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxline.models import CATALOG, model_path
from voxline.vad import (
    Endpoint,
    Endpointer,
    EndpointingConfig,
    SilenceStarted,
    SpeechStarted,
    make_detector,
)
from voxline.vad.completeness import judge

RATE = 16000
FRAME = 320  # 20 ms at 16 kHz
WINDOWS_MS = list(range(200, 1201, 100))
TARGET_CUT_RATE = 0.05
# Within-turn pause distribution. Campione & Veronis ("A large-scale multilingual study of
# silent pause duration", Speech Prosody 2002; ~6000 pauses, read and spontaneous speech) find
# pause durations trimodal on a log scale: brief < 200 ms, medium 200-1000 ms, long > 1000 ms
# (long ones only in spontaneous speech); Demol et al. (Interspeech 2007) fit log durations
# with a bi-Gaussian. Within-speaker pauses are mostly 200-1000 ms, right-skewed.
# Here: lognormal, median 350 ms, sigma 0.5 (p95 ~800 ms), clipped to 150-1200 ms. A choice,
# not a fit to data; the result scales with it (see the caveat in docs/endpointing.md).
PAUSE_MEDIAN_MS, PAUSE_SIGMA, PAUSE_CLIP_MS = 350.0, 0.5, (150.0, 1200.0)
LEVEL = 0.5  # -6 dB below Piper's peak-normalised output
NOISE_DBFS = -60.0  # white line-noise floor (RMS) under the whole utterance
FLOOR = 100  # |sample| above this (about -50 dBFS) counts as audible: trims clauses, finds ends
LEAD_MS, TAIL_MS = (300, 700), 2000

TEXTS = """I'd like to book a cleaning, maybe next Tuesday, in the afternoon.
Hi, I'm calling about my appointment, the one on Friday morning.
Yes, my date of birth is March third, nineteen eighty four.
I need to reschedule, something came up at work, so maybe Thursday instead.
Could I see Doctor Patel, or anyone really, sometime this week.
My daughter has a fever, since last night, and she's not eating much.
I was wondering, do you take Blue Cross, or is it only Aetna.
Let me think, Wednesday works, but only after three.
The last time I came in, they said, I should book a follow up.
It's for my husband, he hurt his back, lifting boxes on Sunday.
Um, I'm not sure, maybe around ten, if that's open.
I'd prefer the downtown office, since it's closer, and parking is easier.
Actually, can we make it later, like four thirty, or five.
My phone number is five five five, two one two, four four seven eight.
I got a reminder text, for tomorrow at nine, but I can't make it.
Is there anything earlier, even a cancellation, I'd take it.
So the pain started, about two weeks ago, on the left side.
I'm a new patient, I just moved here, from Ohio.
We need two appointments, one for me, and one for my son.
The referral was sent, by Doctor Lee's office, on Monday I think.
I'm calling to cancel, for next Monday, the dental cleaning.
Could you check, if my insurance card, is on file.
I'm free most mornings, except Tuesdays, because of work.
It's a routine checkup, nothing urgent, whenever you have time.
My name is Sarah Johnson, that's J O H N, S O N.
I need a refill, for my blood pressure pills, the usual ones.
Last visit, the doctor mentioned, an X ray of my knee.
Can I bring my mother, she's seventy eight, and uses a walker.
The address on file, is probably old, we moved in June.
I'd rather not wait, it's been hurting, for three days now.
If possible, the same dentist as last time, she was great.
Let me check my calendar, okay, Friday the twelfth works.
I have a question, about the bill, from my last visit.
My tooth cracked, while eating dinner, and it's pretty sensitive.
We're flexible, any day next week, just not too early.
So, I think, the appointment was for eleven, not ten.
She's allergic to penicillin, just so you know, it's in her chart.
I'd like a morning slot, around eight, before I drop the kids off.
Do you have evening hours, or weekends, because I work days.
He needs his vaccines, for school, before the end of August.
I can do Monday, or Wednesday, but not Tuesday.
The results came back, and the nurse said, to call and book a visit.
Hello, yes, I'm returning a call, from someone at your office.
I'm calling for my father, he has an appointment, and needs a ride.
Is Doctor Nguyen available, on the twentieth, in the morning.
It's been about a year, since my last cleaning, so I'm due.
I'd like to switch, to a female doctor, if that's possible.
My email is on file, but it changed, it's now at gmail.""".splitlines()
SHORT_ANSWERS = ["Yes.", "No.", "Yeah.", "Okay.", "Sure.", "Nope."]


def clauses(text: str) -> list[str]:
    parts = text.split(", ")
    return [p + "," for p in parts[:-1]] + [parts[-1]]


class ClauseSynth:
    """Piper clauses at 16 kHz, trimmed to the audible extent, cached on disk by text."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)
        self._voice = None
        self._tag = CATALOG["piper-joe-medium"].sha256[:12]

    def __call__(self, text: str) -> np.ndarray:
        key = hashlib.sha256(f"{self._tag}|{LEVEL}|{text}".encode()).hexdigest()[:20]
        path = self.cache_dir / f"{key}.npy"
        if path.is_file():
            return np.load(path)
        if self._voice is None:
            from piper import PiperVoice

            self._voice = PiperVoice.load(str(model_path("piper-joe-medium")))
        import soxr

        raw = b"".join(c.audio_int16_bytes for c in self._voice.synthesize(text))
        audio = np.frombuffer(raw, dtype=np.int16).astype(np.float32) * LEVEL
        audio = soxr.resample(audio, self._voice.config.sample_rate, RATE)
        loud = np.flatnonzero(np.abs(audio) > FLOOR)
        clip = np.clip(np.round(audio[loud[0] : loud[-1] + 1]), -32768, 32767).astype(np.int16)
        np.save(path, clip)
        return clip


@dataclass
class Utterance:
    text: str
    audio: np.ndarray  # int16, 16 kHz, with lead-in, noise floor and 2 s of trailing silence
    pauses_ms: list[float]
    last_clause_start_ms: float
    speech_end_ms: float  # true end: last audible sample of the final clause


def build_corpus(synth: ClauseSynth, renders: int, seed: int) -> list[Utterance]:
    rng = np.random.default_rng(seed)
    noise_rms = 32768 * 10 ** (NOISE_DBFS / 20)
    corpus = []
    for _ in range(renders):
        for text in TEXTS:
            parts = [synth(c) for c in clauses(text)]
            pauses = np.exp(rng.normal(np.log(PAUSE_MEDIAN_MS), PAUSE_SIGMA, len(parts) - 1))
            pauses = np.clip(pauses, *PAUSE_CLIP_MS)
            pieces = [np.zeros(int(rng.integers(*LEAD_MS)) * RATE // 1000, np.int16)]
            for part, pause in zip(parts, [*pauses, None]):
                pieces.append(part)
                if pause is not None:
                    pieces.append(np.zeros(int(pause * RATE / 1000), np.int16))
            last_start = sum(len(p) for p in pieces[:-1])
            end = last_start + len(parts[-1])
            pieces.append(np.zeros(TAIL_MS * RATE // 1000, np.int16))
            clean = np.concatenate(pieces).astype(np.float32)
            noisy = clean + rng.normal(0.0, noise_rms, len(clean))
            audio = np.clip(np.round(noisy), -32768, 32767).astype(np.int16)
            ms = 1000 / RATE
            corpus.append(Utterance(text, audio, list(pauses), last_start * ms, end * ms))
    return corpus


def probabilities(name: str, audio: np.ndarray, timings: list[int]) -> np.ndarray:
    vad = make_detector(name, RATE)
    out = np.empty(len(audio) // FRAME)
    for i in range(len(out)):
        frame = audio[i * FRAME : (i + 1) * FRAME].tobytes()
        t0 = time.perf_counter_ns()
        out[i] = vad.speech_probability(frame)
        timings.append(time.perf_counter_ns() - t0)
    return out


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    """95% Wilson score interval of a proportion k/n."""
    p, d = k / n, 1 + z * z / n
    centre, half = (p + z * z / (2 * n)) / d, z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(float(centre - half), 4), round(float(centre + half), 4)]


def evaluate(probs: list[np.ndarray], corpus: list[Utterance], window: int) -> dict:
    config = EndpointingConfig(trailing_silence_ms=window)
    cut = missed = 0
    delays = []
    for p, utt in zip(probs, corpus):
        ep = Endpointer(config)
        ends = [ev for x in p for ev in ep.process(float(x)) if isinstance(ev, Endpoint)]
        # A cut: an endpoint for speech that ended before the final clause began (even if the
        # VAD's reaction lag made the decision land a few ms into that clause).
        cut += any(e.speech_end_ms <= utt.last_clause_start_ms for e in ends)
        final = [e for e in ends if e.speech_end_ms > utt.last_clause_start_ms]
        if final:
            delays.append(final[0].decided_ms - utt.speech_end_ms)
        else:
            missed += 1
    return {
        "cut_rate": round(cut / len(corpus), 4),
        "cut_rate_ci95": wilson(cut, len(corpus)),
        "cut": cut,
        "missed_final_endpoint": missed,
        "endpoint_delay_ms_p50": round(float(np.median(delays)), 1) if delays else None,
        "endpoint_delay_ms_p95": round(float(np.percentile(delays, 95)), 1) if delays else None,
    }


ADAPTIVE_FULL_MS = 900
ADAPTIVE_SHORT_MS = [300, 400, 500, 600, 700]
STT_PREROLL_MS = 300  # as providers/local/whisper.py keeps before the speech start


class PrefixTranscripts:
    """Whisper's transcript of the turn so far at each pause, cached on disk by audio hash."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir / "transcripts"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._stt = None
        self.decode_ms: list[float] = []

    def __call__(self, audio: np.ndarray, start_ms: int, end_ms: int) -> str:
        clip = audio[max(0, start_ms - STT_PREROLL_MS) * RATE // 1000 : end_ms * RATE // 1000]
        key = hashlib.sha256(clip.tobytes()).hexdigest()[:24]
        path = self.cache_dir / f"{key}.txt"
        if path.is_file():
            return path.read_text()
        if self._stt is None:
            from voxline.providers.local.whisper import WhisperSTT

            self._stt = WhisperSTT("whisper-tiny.en", threads=2)
        t0 = time.perf_counter()
        text = self._stt.decode(clip.astype(np.float32) / 32768.0).text
        self.decode_ms.append((time.perf_counter() - t0) * 1000)
        path.write_text(text)
        return text


def adaptive_run(p: np.ndarray, utt: Utterance, config: EndpointingConfig,
                 transcripts: PrefixTranscripts, stt_delay_ms: int) -> tuple[list, list]:
    """Endpoints of one utterance with adaptive endpointing, and (transcript, finished, is
    the true end) for every pause judged. The judgement lands `stt_delay_ms` after the
    silence starts (the speculative STT's time), as in the engine."""
    ep = Endpointer(config)
    ends: list[Endpoint] = []
    judged = []
    turn_start = 0
    pending: int | None = None  # speech_end_ms of a finished-sounding pause not yet applied
    for x in p:
        events = ep.process(float(x))
        for ev in events:
            if isinstance(ev, SpeechStarted):
                turn_start = ev.start_ms
            elif isinstance(ev, SilenceStarted):
                text = transcripts(utt.audio, turn_start, ev.speech_end_ms)
                finished = judge(text).finished
                judged.append((text, finished, ev.speech_end_ms > utt.last_clause_start_ms))
                pending = ev.speech_end_ms if finished else None
            elif isinstance(ev, Endpoint):
                ends.append(ev)
                pending = None
            else:
                pending = None  # SpeechResumed: that pause is over
        if pending is not None and ep.position_ms - pending >= stt_delay_ms:
            ends += [e for e in ep.shorten() if isinstance(e, Endpoint)]
            pending = None
    return ends, judged


def evaluate_adaptive(probs: list[np.ndarray], corpus: list[Utterance], short_ms: int,
                      transcripts: PrefixTranscripts, stt_delay_ms: int) -> dict:
    config = EndpointingConfig(trailing_silence_ms=ADAPTIVE_FULL_MS, complete_silence_ms=short_ms)
    cut = missed = 0
    delays, judged_all = [], []
    for p, utt in zip(probs, corpus):
        ends, judged = adaptive_run(p, utt, config, transcripts, stt_delay_ms)
        judged_all += judged
        cut += any(e.speech_end_ms <= utt.last_clause_start_ms for e in ends)
        final = [e for e in ends if e.speech_end_ms > utt.last_clause_start_ms]
        if final:
            delays.append(final[0].decided_ms - utt.speech_end_ms)
        else:
            missed += 1
    mid = [f for _, f, end in judged_all if not end]
    last = [f for _, f, end in judged_all if end]
    return {
        "complete_silence_ms": short_ms,
        "trailing_silence_ms": ADAPTIVE_FULL_MS,
        "stt_delay_ms": stt_delay_ms,
        "cut_rate": round(cut / len(corpus), 4),
        "cut_rate_ci95": wilson(cut, len(corpus)),
        "cut": cut,
        "missed_final_endpoint": missed,
        "endpoint_delay_ms_p50": round(float(np.median(delays)), 1) if delays else None,
        "endpoint_delay_ms_p95": round(float(np.percentile(delays, 95)), 1) if delays else None,
        "judged_finished_mid_sentence": round(sum(mid) / len(mid), 4) if mid else None,
        "judged_finished_at_true_end": round(sum(last) / len(last), 4) if last else None,
        "pauses_judged": len(judged_all),
    }


def short_answers(synth: ClauseSynth, min_speech_ms: int) -> dict:
    """Longest Silero voiced run for one-word answers: min_speech_ms must not reject them."""
    out = {}
    for text in SHORT_ANSWERS:
        audio = np.concatenate([np.zeros(4800, np.int16), synth(text), np.zeros(8000, np.int16)])
        ep = Endpointer(EndpointingConfig(min_speech_ms=min_speech_ms, trailing_silence_ms=200))
        events = [ev for x in probabilities("silero", audio, []) for ev in ep.process(float(x))]
        ends = [e for e in events if isinstance(e, Endpoint)]
        out[text] = {
            "audible_ms": round(len(synth(text)) / RATE * 1000),
            "detected": bool(ends),
            "voiced_ms": ends[0].speech_end_ms - ends[0].speech_start_ms if ends else 0,
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m voxline.bench.endpointing")
    parser.add_argument("--out", type=Path, default=Path("bench/results/endpointing.json"))
    parser.add_argument("--renders", type=int, default=4, help="pause draws per sentence")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--stt-delay-ms", type=int, nargs="+", default=[0, 460],
                        help="when the completeness judgement lands after the silence starts "
                        "(0: an instant STT; 460: whisper tiny.en's p50 in the spine bench)")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "voxline-bench-endpointing")
    args = parser.parse_args(argv)

    synth = ClauseSynth(args.cache_dir)
    corpus = build_corpus(synth, args.renders, args.seed)
    pauses = np.array([p for u in corpus for p in u.pauses_ms])
    timings: dict[str, list[int]] = {"silero": [], "webrtc": []}
    probs = {n: [probabilities(n, u.audio, timings[n]) for u in corpus] for n in timings}
    windows = []
    for w in WINDOWS_MS:
        row = {"trailing_silence_ms": w, **{n: evaluate(probs[n], corpus, w) for n in probs}}
        windows.append(row)
        print(w, *(f"{n}: cut {row[n]['cut_rate']:.3f} p50 {row[n]['endpoint_delay_ms_p50']} "
                   f"p95 {row[n]['endpoint_delay_ms_p95']}" for n in probs), sep="  |  ")
    transcripts = PrefixTranscripts(args.cache_dir)
    adaptive = []
    for delay in args.stt_delay_ms:
        for short in ADAPTIVE_SHORT_MS:
            row = evaluate_adaptive(probs["silero"], corpus, short, transcripts, delay)
            adaptive.append(row)
            print(f"adaptive {short}/{ADAPTIVE_FULL_MS} stt {delay}: cut {row['cut_rate']:.3f} "
                  f"p50 {row['endpoint_delay_ms_p50']} p95 {row['endpoint_delay_ms_p95']} "
                  f"finished mid {row['judged_finished_mid_sentence']} "
                  f"end {row['judged_finished_at_true_end']}")
    examples = [
        {"transcript": text, "finished": finished, "true_end": end}
        for p, utt in list(zip(probs["silero"], corpus))[: len(TEXTS)]
        for text, finished, end in adaptive_run(
            p, utt, EndpointingConfig(), transcripts, 0)[1]
    ]
    ok = [r["trailing_silence_ms"] for r in windows if r["silero"]["cut_rate"] <= TARGET_CUT_RATE]
    chosen = ok[0] if ok else None
    defaults = EndpointingConfig()
    result = {
        "corpus": {
            "description": "clinic-booking caller sentences; each clause synthesized separately "
            "(Piper en_US joe medium, resampled to 16 kHz), trimmed at |x|>%d, joined by sampled "
            "pauses; lead-in uniform in %s ms, %d ms trailing silence, white noise at %.0f dBFS "
            "RMS, level -6 dB from peak-normalised" % (FLOOR, LEAD_MS, TAIL_MS, NOISE_DBFS),
            "sentences": len(TEXTS), "renders_per_sentence": args.renders,
            "utterances": len(corpus), "pauses": len(pauses), "seed": args.seed,
            "pause_distribution": {
                "kind": "lognormal", "median_ms": PAUSE_MEDIAN_MS, "sigma": PAUSE_SIGMA,
                "clip_ms": list(PAUSE_CLIP_MS),
                "observed_ms": {q: round(float(np.percentile(pauses, int(q[1:])))) for q in
                                ("p05", "p50", "p95")} | {"max": round(float(pauses.max()))},
            },
            "audio_seconds": round(sum(len(u.audio) for u in corpus) / RATE, 1),
        },
        "endpointing": {k: v for k, v in dataclasses.asdict(defaults).items()
                        if k != "trailing_silence_ms"},
        "windows": windows,
        "chosen_trailing_silence_ms": chosen,
        "rule": f"smallest window with Silero cut_rate <= {TARGET_CUT_RATE}",
        "adaptive": {
            "description": "Silero; at each SilenceStarted whisper tiny.en transcribes the turn "
            f"so far ({STT_PREROLL_MS} ms pre-roll); vad/completeness.py judges it; a "
            "finished-sounding pause ends after complete_silence_ms (judgement applied "
            "stt_delay_ms after the silence starts), any other after trailing_silence_ms",
            "rows": adaptive,
            "whisper_decode_ms": {"n": len(transcripts.decode_ms)} | (
                {"p50": round(float(np.median(transcripts.decode_ms)), 1),
                 "p95": round(float(np.percentile(transcripts.decode_ms, 95)), 1)}
                if transcripts.decode_ms else {}),
            "judged_pauses_first_render": examples,
        },
        "short_answers_silero": short_answers(synth, defaults.min_speech_ms),
        "per_frame_us": {n: {"median": round(float(np.median(t)) / 1000, 1),
                             "mean": round(float(np.mean(t)) / 1000, 1), "frames": len(t)}
                         for n, t in timings.items()},
        "host": {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"chosen trailing_silence_ms={chosen}; wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
