"""Shared fixtures: the shared face photos, settings for a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceledger.config import Settings, load_settings

FACES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "faces"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The shared labelled face photos (../shared/data/faces); skip if absent."""
    folder = FACES.resolve()
    if not (folder / "people").is_dir():
        pytest.skip(f"shared face photos missing: expected {folder}/people")
    return folder


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a data directory, ignoring the caller's environment."""
    return load_settings({"data_dir": data_dir, **overrides}, environ={})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh data directory under tmp_path."""
    return make_settings(tmp_path / "data")
