"""`voxline doctor`: is everything a call needs here, and if not, what to run."""

from __future__ import annotations

import importlib
import os
import sys

from voxline.models import check_all

# (module, what needs it, how to get it)
IMPORTS = (
    ("numpy", "audio", ".venv/bin/pip install numpy"),
    ("soxr", "resampling", ".venv/bin/pip install soxr"),
    ("onnxruntime", "Silero VAD and Piper", ".venv/bin/pip install onnxruntime"),
    ("webrtcvad", "the light VAD", ".venv/bin/pip install webrtcvad-wheels"),
    ("faster_whisper", "local STT", ".venv/bin/pip install faster-whisper==1.2.1"),
    ("llama_cpp", "local LLM", "make llama  (builds llama-cpp-python, 5–8 min)"),
    ("piper", "local TTS", ".venv/bin/pip install piper-tts==1.8.0"),
    ("starlette", "the server", ".venv/bin/pip install starlette"),
    ("uvicorn", "the server", ".venv/bin/pip install uvicorn"),
)


def run_checks() -> bool:
    ok = True

    def report(good: bool, what: str, fix: str = "") -> None:
        nonlocal ok
        ok &= good
        print(f"  {'ok ' if good else 'FAIL'} {what}" + ("" if good else f"\n       fix: {fix}"))

    print("python")
    report(sys.version_info >= (3, 11), f"Python {sys.version.split()[0]} (3.11+ needed)",
           "install Python 3.11")
    print(f"cpu: {os.cpu_count()} cores")
    print("libraries")
    for module, purpose, fix in IMPORTS:
        try:
            importlib.import_module(module)
            report(True, f"{module} ({purpose})")
        except Exception as err:  # noqa: BLE001 - any import failure is what we report
            report(False, f"{module} ({purpose}): {type(err).__name__}: {err}", fix)
    print("models")
    for status in check_all():
        report(status.ok, f"{status.spec.id}: {status.detail}", "make models")
    print("all good" if ok else "some checks failed: run the fixes above")
    return ok
