"""Integration fixtures: the real embedded models, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxline.config import Settings
from voxline.demo import CALLER_LINES, synthesize_lines
from voxline.providers.registry import Providers
from voxline.testing.coturn import coturn


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def providers(settings: Settings) -> Providers:
    return Providers.load(settings)


@pytest.fixture(scope="session")
def caller_wavs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The clinic caller lines, synthesized with the local voice (as `make` does)."""
    directory = tmp_path_factory.mktemp("callers")
    paths = synthesize_lines(directory)
    return {line.name: path for line, path in zip(CALLER_LINES, paths)}


@pytest.fixture(scope="session")
def key_words() -> dict[str, tuple[str, ...]]:
    return {line.name: line.key_words for line in CALLER_LINES}


@pytest.fixture
async def coturn_server(tmp_path: Path):
    """A real coturn on a free loopback port, TURN REST auth (see voxline.testing.coturn)."""
    async with coturn(tmp_path / "coturn") as server:
        yield server
