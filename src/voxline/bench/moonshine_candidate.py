"""Moonshine (v1 tiny/base, ONNX Runtime format) as an STT candidate for `bench.stt_choice`.

Only a benchmark candidate, not a provider: on the demo lines it hears fewer key words than
Whisper tiny.en (see bench/results/local_stt_choice.json). The weights come from registry
packages that ship them (MIT): `moonshine-voice==0.1.0` has tiny-en in
`moonshine_voice/assets/tiny-en/`, `moonshine-cpp==0.1.4` has base-en in
`moonshine_cpp/models/base-en/`. Each folder holds `encoder_model.ort`,
`decoder_model_merged.ort` and `tokenizer.bin`; they run on the onnxruntime voxline already has.

The model takes raw 16 kHz samples (no mel front end), so the encoder's cost follows the
utterance's length. Decoding is greedy with the decoder's key/value cache.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voxline.providers.base import Transcript

START, END = 1, 2  # <s>, </s>
BYTE_TOKENS = range(3, 259)  # byte fallback: token 3 + b is the raw byte b
WORD_MARK = "\u2581"  # sentencepiece's word-start mark
MAX_TOKENS_PER_S = 6.5  # Moonshine's own bound on a transcript's length


def read_tokenizer(path: Path) -> list[bytes]:
    """tokenizer.bin: per token id in order, a length (1 byte, or 2 as a 7-bit varint), bytes."""
    data = path.read_bytes()
    tokens, i = [], 0
    while i < len(data):
        length = data[i]
        i += 1
        if length >= 0x80:
            length = (length & 0x7F) | (data[i] << 7)
            i += 1
        tokens.append(data[i : i + length])
        i += length
    return tokens


class MoonshineOnnx:
    def __init__(self, folder: Path, threads: int = 2) -> None:
        import onnxruntime

        folder = Path(folder)
        missing = [
            name
            for name in ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")
            if not (folder / name).is_file()
        ]
        if missing:
            raise FileNotFoundError(
                f"{folder} lacks {', '.join(missing)}; unpack moonshine-voice==0.1.0 "
                "(assets/tiny-en) or moonshine-cpp==0.1.4 (models/base-en) there"
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

        def session(name: str) -> onnxruntime.InferenceSession:
            return onnxruntime.InferenceSession(
                str(folder / name), options, providers=["CPUExecutionProvider"]
            )

        self._encoder = session("encoder_model.ort")
        self._decoder = session("decoder_model_merged.ort")
        self._encoder_inputs = {i.name for i in self._encoder.get_inputs()}
        self._decoder_inputs = {i.name for i in self._decoder.get_inputs()}
        self._cache_names = [n for n in self._decoder_inputs if n.startswith("past_key_values.")]
        self._cache_names.sort()
        # Heads and head size from the cache's declared shape [batch, heads, length, size].
        shape = next(i.shape for i in self._decoder.get_inputs() if i.name in self._cache_names)
        self._heads, self._head_size = int(shape[1]), int(shape[3])
        self._tokens = read_tokenizer(folder / "tokenizer.bin")

    def _detokenize(self, ids: list[int]) -> str:
        raw = b"".join(
            bytes([t - BYTE_TOKENS.start]) if t in BYTE_TOKENS else self._tokens[t]
            for t in ids
            if t > END
        )
        return raw.decode("utf-8", "replace").replace(WORD_MARK, " ").strip()

    def decode(self, samples: np.ndarray) -> Transcript:
        audio = samples.astype(np.float32)[None, :]
        mask = np.ones_like(audio, dtype=np.int64)
        feed = {"input_values": audio, "attention_mask": mask}
        hidden = self._encoder.run(
            None, {k: v for k, v in feed.items() if k in self._encoder_inputs}
        )[0]
        empty = np.zeros((1, self._heads, 0, self._head_size), dtype=np.float32)
        cache = {name: empty for name in self._cache_names}
        ids, first = [START], True
        for _ in range(int(samples.size / 16000 * MAX_TOKENS_PER_S) + 4):
            feed = {
                "input_ids": np.array([[ids[-1]]], dtype=np.int64),
                "encoder_hidden_states": hidden,
                "encoder_attention_mask": mask,
                "use_cache_branch": np.array([not first]),
                **cache,
            }
            logits, *present = self._decoder.run(
                None, {k: v for k, v in feed.items() if k in self._decoder_inputs}
            )
            token = int(logits[0, -1].argmax())
            if token == END:
                break
            ids.append(token)
            outputs = [o.name for o in self._decoder.get_outputs()[1:]]
            for name, value in zip(outputs, present):
                past = name.replace("present.", "past_key_values.")
                # The cross-attention cache is computed on the first step only.
                if first or ".decoder." in past:
                    cache[past] = value
            first = False
        return Transcript(text=self._detokenize(ids))
