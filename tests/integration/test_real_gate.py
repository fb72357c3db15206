"""The deployment gate with real evaluations of the real models on lfw-dev (R15, R16).

Slow: the SFace evaluation of all of lfw-dev is the session's (tests/conftest.py), and one dlib
evaluation of a small part of it runs here.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faceledger.biometrics.pipeline import pipeline_for
from faceledger.cli.evaluate import evaluate_to_folder, lfw_request, read_summary
from faceledger.errors import GateClosed
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.deployment import gate_reasons
from faceledger.governance.profiles import load_profile
from faceledger.service import FaceLedger
from faceledger.service.ledger_actions import LedgerAction
from tests.conftest import ACTOR, make_settings

pytestmark = pytest.mark.slow

GOVERNED = ("massachusetts", "washington", "maryland", "eu-ai-act")


@pytest.fixture(scope="module")
def dlib_evaluation(lfw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The dlib pipeline evaluated on the first 60 identities (and 60 distractors) of lfw-dev."""
    out = tmp_path_factory.mktemp("dlib-evaluation")
    request = lfw_request(lfw_dir, out, bootstrap=100, quiet=True)
    request = dataclasses.replace(request, pipeline="dlib", limit_identities=60)
    report, _ = evaluate_to_folder(make_settings(out / "data"), request)
    return report.to_summary()


@pytest.fixture
def dlib_unit(faces_dir: Path, tmp_path: Path) -> Iterator[FaceLedger]:
    """A massachusetts data directory whose gallery holds dlib templates of three people."""
    tree = tmp_path / "people"
    for name in ("obama", "biden", "kit_harington"):
        shutil.copytree(faces_dir / "people" / name, tree / name)
    settings = make_settings(tmp_path / "data", pipeline="dlib")
    service = FaceLedger.initialise(settings, ACTOR.ledger_actor)
    summary = service.galleries.enroll(ACTOR, "dlib-gallery", from_folder_tree(tree))
    assert summary.enrolled == len(list(tree.glob("*/*")))
    yield service
    service.close()


def test_the_sface_evaluation_meets_every_governed_profiles_bounds(sface_evaluation: Path) -> None:
    summary = read_summary(sface_evaluation)
    assert summary["dataset"]["identities"] == 1200 and summary["dataset"]["photos"] == 2495
    for name in GOVERNED:
        assert gate_reasons(summary, load_profile(name).accuracy) == [], name
    one_to_n = summary["one_to_n"]
    assert one_to_n["rank1"] >= 0.98 and one_to_n["fnir_at_fpir"]["0.003"]["fnir"] <= 0.10
    assert summary["demographics"]["label_source"] == "predicted"


def test_the_dlib_evaluation_is_refused_with_its_reasons_recorded(
    dlib_unit: FaceLedger, dlib_evaluation: dict[str, Any]
) -> None:
    reasons = gate_reasons(dlib_evaluation, load_profile("massachusetts").accuracy)
    assert any(r.startswith("FNIR at FPIR 0.003 is ") for r in reasons), reasons
    stored = dlib_unit.deployments.record_evaluation(ACTOR, dlib_evaluation)
    with pytest.raises(GateClosed) as raised:
        dlib_unit.deployments.activate(ACTOR, "dlib-gallery", stored.id)
    assert raised.value.details["reasons"] == reasons
    (entry,) = dlib_unit.audit.ledger_entries(ACTOR, action=LedgerAction.MODEL_ACTIVATION_REFUSED)
    assert entry.payload["reasons"] == reasons
    assert dlib_unit.deployments.activation(ACTOR, "dlib-gallery") is None


def test_a_dlib_gallery_reembedded_with_sface_opens_with_the_sface_evaluation(
    dlib_unit: FaceLedger, sface_evaluation: Path
) -> None:
    summary = read_summary(sface_evaluation)
    stored = dlib_unit.deployments.record_evaluation(ACTOR, summary)
    with pytest.raises(GateClosed, match="gallery's templates come from dlib_face_recognition"):
        dlib_unit.deployments.activate(ACTOR, "dlib-gallery", stored.id)
    sface = pipeline_for(dlib_unit.settings, "sface")
    done = dlib_unit.galleries.reembed(ACTOR, "dlib-gallery", sface)
    assert done.photos == done.from_file and not done.removed
    made = dlib_unit.deployments.activate(ACTOR, "dlib-gallery", stored.id)
    assert made["model"]["name"] == "opencv_zoo_sface_2021dec"
    # Calibrated for FPIR 0.003 at this small gallery: looser than the evaluation's own
    # threshold for FPIR 0.003 at its 600-identity gallery.
    assert made["threshold"] > summary["one_to_n"]["fnir_at_fpir"]["0.003"]["threshold"]
