"""Shared fixtures: the shared face photos, settings for a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceledger.config import Settings, load_settings
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import LocalOperator

ACTOR = LocalOperator("test")
"""The local operator of the test data directories (gallery set-up needs no login)."""
GALLERY = "people"
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


@pytest.fixture(scope="session")
def enrolled_template(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the 54 people photos enrolled into gallery 'people'."""
    data_dir = tmp_path_factory.mktemp("enrolled") / "data"
    from faceledger import FaceLedger

    service = FaceLedger.initialise(make_settings(data_dir), ACTOR.ledger_actor)
    try:
        summary = service.galleries.enroll(ACTOR, GALLERY, from_folder_tree(faces_dir / "people"))
        assert summary.enrolled == 54, summary.to_dict()
    finally:
        service.close()
    return data_dir
