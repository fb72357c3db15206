"""A gallery belongs to one model; the deployment gate (R15, R16); calibrated thresholds (R12).

The face pipeline here is the FAKE one of :mod:`tests.fakes`, and the evaluations are FAKE
summaries whose figures are set per test: these tests are about what the service allows, refuses
and records. Real evaluations are tested in tests/unit/reports/evaluation and tests/integration/
test_real_gate.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from faceledger.errors import Conflict, GateClosed, ModelMismatch
from faceledger.gallery.models import Gallery, Template
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.models import SearchRun
from faceledger.reports.evaluation.calibration import ImpostorDistribution, threshold_for_fpir
from faceledger.service import FaceLedger
from faceledger.service.deployments import summary_sha256
from faceledger.service.ledger_actions import LedgerAction
from tests.conftest import GALLERY
from tests.factories import FastFaceLedger
from tests.fakes import (
    FAKE_EMBEDDER,
    OTHER_FAKE_EMBEDDER,
    FakeDetector,
    OtherFakeEmbedder,
    fake_evaluation_summary,
    fake_pipeline,
    other_fake_pipeline,
)
from tests.integration.governance.conftest import Governed, form

LOCAL = LocalOperator("test")


def reopen(governed: Governed, pipeline: Any) -> FaceLedger:
    """Open the fixture's data directory again with another (FAKE) pipeline."""
    governed.service.close()
    governed.service = FastFaceLedger(governed.service.settings, pipeline=pipeline)
    return governed.service


def summary_with(service: FaceLedger, **changes: Any) -> dict[str, Any]:
    """A FAKE evaluation of the service's models with some figures changed."""
    summary = fake_evaluation_summary(service.context.pipeline)
    one_to_n = dict(summary["one_to_n"])  # type: ignore[arg-type]
    if "rank1" in changes:
        one_to_n["rank1"] = changes.pop("rank1")
    if "fnir" in changes:
        one_to_n["fnir_at_fpir"] = {"0.003": {"fnir": changes.pop("fnir")}}
    return {**summary, "one_to_n": one_to_n, **changes}


def activation_of(service: FaceLedger, gallery: str = GALLERY) -> dict[str, Any] | None:
    """The gallery's current activation, as the service reads it."""
    return service.deployments.activation(LOCAL, gallery)


def noise_photos(folder: Path, count: int, seed: int = 3) -> Path:
    """``count`` distinct noise images, one subject each (the FAKE detector finds a face)."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        subject = folder / f"noise-{i:03d}"
        subject.mkdir(parents=True)
        pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(subject / "a.png")
    return folder


# -- calibrated thresholds in the search record (R12) ----------------------------------------


def test_a_search_records_each_gallerys_calibrated_threshold_and_its_source(
    governed: Governed,
) -> None:
    service, rid = governed.service, governed.requests["approved"]
    view = service.requests.run_request_search(governed.who("ex1"), rid)
    activation = activation_of(service)
    assert activation is not None
    with service.context.db.read() as session:
        run = session.scalar(select(SearchRun).where(SearchRun.request_id == rid))
        assert run is not None
        (record,) = run.thresholds
        stored = service.deployments.evaluation_summary(LOCAL, activation["evaluation_id"])
    expected = threshold_for_fpir(ImpostorDistribution.from_summary(stored["impostor"]), 0.003, 54)
    assert record["calibrated"] is True
    assert record["distance_micro"] == round(expected.threshold * 1_000_000)
    assert (record["evaluation_id"], record["activation_id"]) == (
        activation["evaluation_id"],
        activation["id"],
    )
    assert (record["target_fpir_nano"], record["gallery_size"]) == (3_000_000, 54)
    (entry,) = governed.entries_of(LedgerAction.REQUEST_SEARCH)[-1:]
    assert entry.payload["thresholds"] == [record]
    assert view.run is not None
    (shown,) = view.run.thresholds
    assert "calibrated for FPIR 0.003 at 54 templates" in shown["description"]
    for candidate in view.run.candidates:
        assert candidate.within_threshold == (candidate.distance <= expected.threshold)


def test_the_threshold_tightens_as_the_gallery_grows(governed: Governed, tmp_path: Path) -> None:
    service, sup = governed.service, governed.who("sup")
    with service.context.db.read() as session:
        targets = service.searches._matcher.targets(session, [GALLERY])
        before = service.searches._matcher.points.for_targets(session, targets)[GALLERY]
    summary = service.galleries.enroll(sup, GALLERY, from_folder_tree(noise_photos(tmp_path, 60)))
    assert summary.enrolled == 60
    with service.context.db.read() as session:
        targets = service.searches._matcher.targets(session, [GALLERY])
        after = service.searches._matcher.points.for_targets(session, targets)[GALLERY]
    assert (before.gallery_size, after.gallery_size) == (54, 114)
    assert after.distance < before.distance


# -- the deployment gate -----------------------------------------------------------------------


def test_a_gallery_with_no_activation_is_not_searched(governed: Governed, tmp_path: Path) -> None:
    service, sup = governed.service, governed.who("sup")
    service.galleries.enroll(sup, "second", from_folder_tree(noise_photos(tmp_path, 3)))
    filed = service.requests.submit_request(
        governed.who("req_a"),
        form(case_number="GATE-1", galleries=("second",)),
        governed.probe.read_bytes(),
        "probe.jpg",
    )
    before = governed.counts()
    with pytest.raises(GateClosed) as raised:
        service.requests.run_request_search(governed.who("ex1"), filed.id)
    assert raised.value.status == 409 and raised.value.code == "deployment_gate"
    assert "Gallery 'second' has no model activated through the deployment gate" in str(
        raised.value
    )
    assert "faceledger gallery activate second --evaluation ID" in str(raised.value)
    assert governed.counts() == before  # nothing searched, nothing recorded half-way


def test_the_gate_refuses_an_evaluation_outside_the_bounds_and_records_why(
    governed: Governed,
) -> None:
    service, sup = governed.service, governed.who("sup")
    weak = service.deployments.record_evaluation(sup, summary_with(service, rank1=0.8, fnir=0.2))
    previous = activation_of(service)
    before = governed.counts()
    with pytest.raises(GateClosed) as raised:
        service.deployments.activate(sup, GALLERY, weak.id)
    reasons = raised.value.details["reasons"]
    assert any("rank-1 identification rate is 80.00%" in r for r in reasons), reasons
    assert any("FNIR at FPIR 0.003 is 20.00%" in r for r in reasons), reasons
    changes = {k: v - before[k] for k, v in governed.counts().items() if v != before[k]}
    assert changes == {"ledger": 1}  # the refusal, and no activation
    (entry,) = governed.last_entries(1)
    assert entry.action == LedgerAction.MODEL_ACTIVATION_REFUSED
    assert entry.payload["reasons"] == reasons
    assert entry.payload["figures"]["rank1_micro"] == 800_000
    current = activation_of(service)
    assert current is not None and previous is not None and current["id"] == previous["id"]


def test_the_gate_allows_an_evaluation_within_the_bounds(governed: Governed) -> None:
    service, admin = governed.service, governed.who("admin")
    good = service.deployments.record_evaluation(admin, summary_with(service, rank1=0.97))
    made = service.deployments.activate(admin, GALLERY, good.id)
    assert made["evaluation_id"] == good.id and made["target_fpir"] == 0.003
    assert made["gallery_size"] == 54 and made["within_measured_range"] is True
    (entry,) = governed.last_entries(1)
    assert entry.action == LedgerAction.MODEL_ACTIVATE
    assert entry.payload["threshold_micro"] == round(made["threshold"] * 1_000_000)
    current = activation_of(service)
    assert current is not None and current["id"] == made["id"]


def test_the_gate_refuses_an_evaluation_of_another_model(governed: Governed) -> None:
    service, sup = governed.service, governed.who("sup")
    other = service.deployments.record_evaluation(
        sup, fake_evaluation_summary(other_fake_pipeline())
    )
    with pytest.raises(GateClosed) as raised:
        service.deployments.activate(sup, GALLERY, other.id)
    (reason,) = raised.value.details["reasons"]
    assert f"the evaluation is of the {OTHER_FAKE_EMBEDDER.name} model (1)" in reason
    assert "gallery's templates come from" in reason


def test_a_target_fpir_looser_than_the_profiles_is_refused_and_a_stricter_one_allowed(
    governed: Governed,
) -> None:
    service, sup = governed.service, governed.who("sup")
    activation = activation_of(service)
    assert activation is not None
    with pytest.raises(GateClosed, match=r"target FPIR 0\.01 is looser than the massachusetts"):
        service.deployments.activate(sup, GALLERY, activation["evaluation_id"], target_fpir=0.01)
    stricter = service.deployments.activate(
        sup, GALLERY, activation["evaluation_id"], target_fpir=0.0001
    )
    assert stricter["threshold"] < activation["threshold"]


def test_an_activation_that_the_active_profile_no_longer_allows_closes_the_gate(
    governed: Governed,
) -> None:
    """Bounds are read at every search: a stored activation is checked again (here its
    evaluation is edited behind the service, as a stricter profile would judge it; the read
    before the edit shows the figures are not kept from an earlier read)."""
    service = governed.service
    with service.context.db.read() as session:  # read the figures once, as a search does
        matcher = service.searches._matcher
        assert matcher.points.for_targets(session, matcher.targets(session, [GALLERY]))
    activation = activation_of(service)
    assert activation is not None
    with service.context.db.transaction() as session:
        from faceledger.gallery.models import Evaluation

        row = session.get(Evaluation, activation["evaluation_id"])
        assert row is not None
        row.summary = summary_with(service, rank1=0.5)
        row.summary_sha256 = summary_sha256(row.summary)
    with pytest.raises(GateClosed, match="does not meet the active massachusetts profile's"):
        service.requests.run_request_search(governed.who("ex1"), governed.requests["approved"])


def test_a_summary_not_written_by_eval_is_refused(governed: Governed) -> None:
    from faceledger.errors import InvalidInput

    with pytest.raises(InvalidInput, match="names no embedding model"):
        governed.service.deployments.record_evaluation(governed.who("sup"), {"one_to_n": {}})
    broken = {**fake_evaluation_summary(fake_pipeline()), "impostor": {"count": 3}}
    with pytest.raises(InvalidInput, match="Not an impostor distribution summary"):
        governed.service.deployments.record_evaluation(governed.who("sup"), broken)


# -- one model per gallery ---------------------------------------------------------------------


def test_a_probe_of_another_model_is_refused_and_nothing_is_written(governed: Governed) -> None:
    before = governed.counts()
    service = reopen(governed, other_fake_pipeline())
    with pytest.raises(ModelMismatch) as raised:
        service.requests.run_request_search(governed.who("ex1"), governed.requests["approved"])
    message = str(raised.value)
    assert f"holds templates of the {FAKE_EMBEDDER.name} model (0)" in message
    assert "never compared" in message and "faceledger gallery reembed people" in message
    assert raised.value.status == 409
    with pytest.raises(ModelMismatch):
        service.galleries.enroll(
            governed.who("sup"), GALLERY, [], create_gallery=False
        )  # refused before any photo is read
    assert governed.counts() == before


def test_reembedding_replaces_every_template_and_closes_the_gate(governed: Governed) -> None:
    service = governed.service
    with service.context.db.read() as session:
        old_ids = set(session.scalars(select(Template.id)))
    summary = service.galleries.reembed(governed.who("sup"), GALLERY, other_fake_pipeline())
    assert (summary.photos, summary.from_file, summary.from_chip) == (54, 54, 0)
    assert summary.old_model == FAKE_EMBEDDER.to_dict()
    assert summary.new_model == OTHER_FAKE_EMBEDDER.to_dict()
    with service.context.db.read() as session:
        templates = session.execute(select(Template.id, Template.model_version)).all()
        gallery = session.scalar(select(Gallery).where(Gallery.name == GALLERY))
        assert gallery is not None and gallery.activation_id is None
        assert gallery.model_version == OTHER_FAKE_EMBEDDER.version
    assert len(templates) == 54 and not old_ids & {t.id for t in templates}  # ids not reused
    assert {t.model_version for t in templates} == {OTHER_FAKE_EMBEDDER.version}
    photo_entries = governed.entries_of(LedgerAction.GALLERY_REEMBED_PHOTO)
    assert len(photo_entries) == 54
    (done,) = governed.entries_of(LedgerAction.GALLERY_REEMBED)
    assert done.payload["cleared_activation_id"] is not None
    # The old model's probes no longer match the gallery; the new model's need the gate again.
    rid = governed.requests["approved"]
    with pytest.raises(ModelMismatch):
        service.requests.run_request_search(governed.who("ex1"), rid)
    service = reopen(governed, other_fake_pipeline())
    with pytest.raises(GateClosed):
        service.requests.run_request_search(governed.who("ex1"), rid)
    stored = service.deployments.record_evaluation(
        governed.who("sup"), fake_evaluation_summary(service.context.pipeline)
    )
    service.deployments.activate(governed.who("sup"), GALLERY, stored.id)
    view = service.requests.run_request_search(governed.who("ex1"), rid)
    assert view.run is not None and view.run.candidates


def test_reembedding_the_same_model_is_refused(governed: Governed) -> None:
    with pytest.raises(Conflict, match="already holds templates of FAKE-embedder-for-tests"):
        governed.service.galleries.reembed(governed.who("sup"), GALLERY, fake_pipeline())


def test_reembedding_reads_the_chip_when_the_file_is_gone(
    governed: Governed, faces_dir: Path, tmp_path: Path
) -> None:
    service, sup = governed.service, governed.who("sup")
    tree = tmp_path / "few"
    shutil.copytree(faces_dir / "people" / "obama", tree / "obama")
    service.galleries.enroll(sup, "few", from_folder_tree(tree))
    gone = sorted((tree / "obama").iterdir())[0]
    gone.unlink()
    summary = service.galleries.reembed(sup, "few", other_fake_pipeline())
    assert summary.from_chip == 1 and summary.from_file == summary.photos - 1
    chip_entries = [
        e
        for e in governed.entries_of(LedgerAction.GALLERY_REEMBED_PHOTO)
        if e.payload["read_from"] == "chip"
    ]
    assert len(chip_entries) == 1


def test_a_photo_that_cannot_be_reembedded_stops_everything_unless_dropped(
    governed: Governed, faces_dir: Path, tmp_path: Path
) -> None:
    from faceledger.biometrics.pipeline import FacePipeline

    service, sup = governed.service, governed.who("sup")
    tree = tmp_path / "few"
    shutil.copytree(faces_dir / "people" / "biden", tree / "biden")
    service.galleries.enroll(sup, "few", from_folder_tree(tree))
    blind = FacePipeline(FakeDetector(faces=0), OtherFakeEmbedder(), fake_pipeline().thresholds)
    before = governed.counts()
    with pytest.raises(Conflict, match=r"Nothing was changed\. Re-run with --drop-failed"):
        service.galleries.reembed(sup, "few", blind)
    assert governed.counts() == before
    summary = service.galleries.reembed(sup, "few", blind, drop_failed=True)
    assert summary.photos == 0 and len(summary.removed) == len(list((tree / "biden").iterdir()))
    assert all("finds no face" in reason for _, reason in summary.removed)
    (done,) = governed.entries_of(LedgerAction.GALLERY_REEMBED)
    assert len(done.payload["removed"]) == len(summary.removed)
