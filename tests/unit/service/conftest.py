"""Fixtures for the service: a data directory with the shared people photos enrolled once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceledger import FaceLedger
from tests.conftest import ACTOR, GALLERY, make_settings

__all__ = ["ACTOR", "GALLERY"]


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
    service = FaceLedger.initialise(make_settings(tmp_path / "data"), ACTOR.ledger_actor)
    yield service
    service.close()
