"""Fixtures for the service: data directories with the shared people photos enrolled once.

Ad hoc search and verify (outside any request) run only under an unsafe profile, so the
biometric fixtures ``enrolled`` and ``empty`` use the lab profile; ``enrolled_massachusetts``
is the shared massachusetts data directory, where they are refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from faceledger import FaceLedger
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.policy import UnsafeProfileWarning
from tests.backends import copy_data_dir
from tests.conftest import ACTOR, GALLERY, make_settings

__all__ = ["ACTOR", "GALLERY", "LAB"]

LAB = "lab"


@pytest.fixture(scope="session")
def lab_template(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab-profile data directory with the 54 people photos enrolled into gallery 'people'."""
    data_dir = tmp_path_factory.mktemp("enrolled-lab") / "data"
    settings = make_settings(data_dir, policy_profile=LAB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeProfileWarning)
        service = FaceLedger.initialise(settings, ACTOR.ledger_actor)
    try:
        summary = service.galleries.enroll(ACTOR, GALLERY, from_folder_tree(faces_dir / "people"))
        assert summary.enrolled == 54, summary.to_dict()
    finally:
        service.close()
    return data_dir


@pytest.fixture
def enrolled(lab_template: Path, tmp_path: Path) -> Iterator[FaceLedger]:
    """A private copy of the enrolled lab data directory, opened."""
    data_dir = tmp_path / "data"
    copy_data_dir(lab_template, data_dir)
    service = FaceLedger(make_settings(data_dir, policy_profile=LAB))
    yield service
    service.close()


@pytest.fixture
def enrolled_massachusetts(enrolled_template: Path, tmp_path: Path) -> Iterator[FaceLedger]:
    """A private copy of the enrolled massachusetts data directory, opened."""
    data_dir = tmp_path / "data"
    copy_data_dir(enrolled_template, data_dir)
    service = FaceLedger(make_settings(data_dir))
    yield service
    service.close()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[FaceLedger]:
    """A freshly initialised lab data directory with nothing enrolled."""
    settings = make_settings(tmp_path / "data", policy_profile=LAB)
    service = FaceLedger.initialise(settings, ACTOR.ledger_actor)
    yield service
    service.close()
