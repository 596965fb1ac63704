"""Silero VAD v5 over ONNX Runtime: one shared session per process, per-call state.

The ONNX graph is stateless between calls: the caller passes the recurrent ``state`` in and gets
``stateN`` back, and prepends the previous window's last samples as context (64 at 16 kHz, 32 at
8 kHz) to each window (512 / 256 samples), exactly as silero-vad's own ``OnnxWrapper`` does.
So one ``SileroModel`` (one InferenceSession) serves every call in the process, and each call
owns a ``SileroVad`` holding its state, context and partially filled window.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from voxline.errors import ConfigError, ModelMissingError
from voxline.models import model_path

# rate -> (window samples, context samples), from silero-vad v5
_WINDOWS = {16000: (512, 64), 8000: (256, 32)}
_SCALE = np.float32(1.0 / 32768.0)


class SileroModel:
    """The Silero ONNX session. ``run`` is thread-safe: it holds no mutable state, and
    ``InferenceSession.run`` may be called concurrently (ONNX Runtime documents this)."""

    def __init__(self, path: Path | str | None = None) -> None:
        import onnxruntime as ort

        path = Path(path) if path is not None else model_path("silero-vad")
        opts = ort.SessionOptions()
        # Many calls share a process: one thread per inference, no inter-op pool, so a VAD
        # window never fans out across cores that other calls' work needs.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped exceptions
            raise ModelMissingError(
                f"could not load the Silero VAD model from {path}: {err}; reinstall it with "
                f".venv/bin/pip install --force-reinstall silero-vad"
            ) from err
        self._sr = {rate: np.array(rate, dtype=np.int64) for rate in _WINDOWS}

    def run(self, window: np.ndarray, state: np.ndarray, rate: int) -> tuple[float, np.ndarray]:
        """One inference: ``window`` is context + samples (float32, 576 at 16 kHz, 288 at
        8 kHz), ``state`` float32 [2, 1, 128]. Returns (speech probability, next state)."""
        sr = self._sr.get(rate)
        if sr is None:
            raise ConfigError(f"Silero VAD supports rates {sorted(_WINDOWS)}, got {rate!r}")
        prob, new_state = self._session.run(
            None, {"input": window.reshape(1, -1), "state": state, "sr": sr}
        )
        return float(prob[0, 0]), new_state


_shared: SileroModel | None = None
_shared_lock = threading.Lock()


def shared_silero_model() -> SileroModel:
    """The process-wide SileroModel, loaded on first use."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = SileroModel()
    return _shared


class SileroVad:
    """Per-call Silero detector implementing VoiceDetector.

    Silero consumes 512-sample windows (32 ms at 16 kHz) but frames arrive every 20 ms, so
    frames are buffered and a window runs whenever one is complete (at most once per frame).
    ``speech_probability`` returns the most recent window's probability: it lags the frame just
    fed by at most one window (32 ms), and is 0.0 until the first window has run.
    """

    def __init__(self, model: SileroModel | None = None, rate: int = 16000) -> None:
        if rate not in _WINDOWS:
            raise ConfigError(f"Silero VAD supports rates {sorted(_WINDOWS)}, got {rate!r}")
        self.rate = rate
        self._model = model if model is not None else shared_silero_model()
        self._window, self._context = _WINDOWS[rate]
        self._frame_samples = rate // 50
        # Preallocated once: model input [context | window], and a staging buffer for samples
        # not yet in a window (less than one window plus one frame).
        self._input = np.zeros(self._context + self._window, dtype=np.float32)
        self._pending = np.zeros(self._window + self._frame_samples, dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        self._input[:] = 0.0
        self._filled = 0
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._probability = 0.0

    def speech_probability(self, frame: bytes) -> float:
        if len(frame) != 2 * self._frame_samples:
            raise ValueError(
                f"expected one 20 ms PCM16 frame ({2 * self._frame_samples} bytes at "
                f"{self.rate} Hz), got {len(frame)} bytes"
            )
        samples = np.frombuffer(frame, dtype="<i2")
        end = self._filled + self._frame_samples
        np.multiply(samples, _SCALE, out=self._pending[self._filled : end])
        self._filled = end
        ctx, win = self._context, self._window
        while self._filled >= win:
            # _input[:ctx] already holds the previous window's last ctx samples (zeros at first).
            self._input[ctx:] = self._pending[:win]
            self._probability, self._state = self._model.run(self._input, self._state, self.rate)
            self._input[:ctx] = self._input[-ctx:]
            rest = self._filled - win
            self._pending[:rest] = self._pending[win : self._filled]
            self._filled = rest
        return self._probability
