import hashlib

import pytest

from voxline import models
from voxline.errors import ModelMissingError
from voxline.models import ModelSpec, PackagedFile, model_path


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    """Two importable packages holding model chunks, and a data dir of our own."""
    for name, payload in (("fakechunk_a", b"GGUF" + b"a" * 100), ("fakechunk_b", b"b" * 50)):
        pkg = tmp_path / "site" / name
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / "part.bin").write_bytes(payload)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("VOXLINE_DATA_DIR", str(tmp_path / "data"))
    whole = b"GGUF" + b"a" * 100 + b"b" * 50
    return hashlib.sha256(whole).hexdigest()


def spec(sha: str, modules=("fakechunk_a", "fakechunk_b")) -> ModelSpec:
    parts = tuple(PackagedFile(m.replace("_", "-"), "1.0", m, "data/part.bin") for m in modules)
    return ModelSpec("fake", "a test model", "MIT", sha, parts, "fake.gguf")


def test_chunks_are_assembled_once_and_verified(fake_packages, monkeypatch, tmp_path):
    monkeypatch.setitem(models.CATALOG, "fake", spec(fake_packages))
    path = model_path("fake")
    assert path == tmp_path / "data" / "models" / "fake.gguf"
    assert path.read_bytes().startswith(b"GGUF")
    assert (tmp_path / "data" / "verified.json").exists()
    assert model_path("fake") == path  # second time: from the stamp


def test_a_wrong_hash_is_refused(fake_packages, monkeypatch):
    monkeypatch.setitem(models.CATALOG, "fake", spec("0" * 64))
    with pytest.raises(ModelMissingError, match="hash"):
        model_path("fake")


def test_a_missing_package_names_the_package_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("VOXLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(models.CATALOG, "fake", spec("0" * 64, modules=("nosuchpkg_xyz",)))
    with pytest.raises(ModelMissingError) as err:
        model_path("fake")
    assert "nosuchpkg-xyz==1.0" in str(err.value) and "make models" in str(err.value)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ModelMissingError, match="whisper-tiny.en"):
        model_path("no-such-model")
