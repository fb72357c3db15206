"""Fixtures for the service: a data directory with the shared people photos enrolled once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceledger import FaceLedger
from faceledger.gallery.sources import from_folder_tree
from tests.conftest import make_settings

ACTOR = "test:examiner"
GALLERY = "people"


@pytest.fixture(scope="session")
def enrolled_template(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the 54 people photos enrolled into gallery 'people'."""
    data_dir = tmp_path_factory.mktemp("enrolled") / "data"
    service = FaceLedger.initialise(make_settings(data_dir), ACTOR)
    try:
        summary = service.enroll(ACTOR, GALLERY, from_folder_tree(faces_dir / "people"))
        assert summary.enrolled == 54, summary.to_dict()
    finally:
        service.close()
    return data_dir


@pytest.fixture
def enrolled(enrolled_template: Path, tmp_path: Path) -> Iterator[FaceLedger]:
    """A private copy of the enrolled data directory, opened."""
    data_dir = tmp_path / "data"
    shutil.copytree(enrolled_template, data_dir)
    service = FaceLedger(make_settings(data_dir))
    yield service
    service.close()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[FaceLedger]:
    """A freshly initialised data directory with nothing enrolled."""
    service = FaceLedger.initialise(make_settings(tmp_path / "data"), ACTOR)
    yield service
    service.close()
