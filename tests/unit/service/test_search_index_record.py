"""Every search records which vector index answered for each gallery and whether it was
approximate (R12): in a governed search's SearchRun.indexes and ``request.search`` ledger entry,
and in an ad hoc search's result and ``search.run`` ledger entry. The face pipeline is the FAKE
one (tests/fakes.py): these tests are about the record, not about faces."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from faceledger import FaceLedger
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.context import LegalBasisKind, ProbeSource, Purpose
from faceledger.governance.forms import RequestForm
from faceledger.governance.models import SearchRun
from faceledger.governance.policy import UnsafeProfileWarning
from tests.backends import copy_data_dir
from tests.conftest import ACTOR, GALLERY, make_settings
from tests.fakes import fake_pipeline

BACKENDS = [("ivf", "faiss-ivf", True), ("flat", "faiss-flat", False)]
PASSWORD = "correct horse battery staple"
UNIT = "ma-state-police"
ENROLLED = 20  # the massachusetts profile's operating unit


class FastLedger(FaceLedger):
    """The real service with a cheap argon2 setting (the face pipeline is passed in: FAKE)."""

    password_hasher: ClassVar[PasswordHasher] = PasswordHasher(
        time_cost=1, memory_cost=8, parallelism=1
    )


def entries(service: FaceLedger, action: str) -> list[Any]:
    with service.context.db.read() as session:
        return service.context.ledger.query(session, action=action, limit=100)


def check_record(
    indexes: list[dict[str, Any]], backend: str, approximate: bool, count: int
) -> None:
    assert [i["gallery"] for i in indexes] == [GALLERY]
    assert indexes[0]["backend"] == backend
    assert indexes[0]["approximate"] is approximate
    assert indexes[0]["count"] == count
    assert isinstance(indexes[0]["parameters"], dict)
    if backend == "faiss-ivf":
        assert "trained" in indexes[0]["parameters"]


@pytest.mark.parametrize(("setting", "backend", "approximate"), BACKENDS)
def test_an_ad_hoc_search_records_the_index_that_answered(
    faces_dir: Path, tmp_path: Path, setting: str, backend: str, approximate: bool
) -> None:
    settings = make_settings(tmp_path / "data", policy_profile="lab", index_backend=setting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeProfileWarning)
        FaceLedger.initialise(settings, ACTOR.ledger_actor).close()
        service = FaceLedger(settings, pipeline=fake_pipeline())
        try:
            # Fewer photos than would start a Dask cluster: this is about the record.
            items = list(from_folder_tree(faces_dir / "people"))[:ENROLLED]
            service.galleries.enroll(ACTOR, GALLERY, items)
            result = service.searches.search(
                ACTOR, faces_dir / "people" / "obama" / "obama1.jpg", [GALLERY]
            )
            [entry] = entries(service, "search.run")
        finally:
            service.close()
    check_record(list(result.indexes), backend, approximate, ENROLLED)
    assert result.to_dict()["indexes"] == list(result.indexes)
    assert entry.payload["indexes"] == list(result.indexes)


def court_order_form() -> RequestForm:
    today = dt.date.today()
    return RequestForm(
        case_number="IDX-1",
        offence_code="armed_robbery",
        narrative="Armed robbery of a corner shop; the clerk photographed the suspect.",
        legal_basis_kind=LegalBasisKind.COURT_ORDER,
        legal_basis={
            "court": "Suffolk Superior Court",
            "order_id": "SUCR-2026-9",
            "judge": "Hon. A. Judge",
            "issued_on": (today - dt.timedelta(days=1)).isoformat(),
            "expires_on": (today + dt.timedelta(days=30)).isoformat(),
        },
        probe_source=ProbeSource.STILL_PHOTO,
        attested=True,
        attestation_text="Not sought for religion, politics or any protected activity.",
        purpose=Purpose.CRIMINAL_INVESTIGATION,
        galleries=(GALLERY,),
        max_candidates=3,
    )


@pytest.mark.parametrize(("setting", "backend", "approximate"), BACKENDS)
def test_a_governed_search_records_the_index_in_its_run_and_ledger_entry(
    fake_enrolled_template: Path,
    faces_dir: Path,
    tmp_path: Path,
    setting: str,
    backend: str,
    approximate: bool,
) -> None:
    root = tmp_path / "data"
    copy_data_dir(fake_enrolled_template, root)
    service = FastLedger(make_settings(root, index_backend=setting), pipeline=fake_pipeline())
    try:
        service.galleries.reindex(ACTOR, GALLERY)  # the gallery's index, under this setting
        accounts = service.accounts
        admin, _ = accounts.bootstrap_admin(
            "admin", "Admin", agency_slug=UNIT, agency_name="FR unit"
        )
        accounts.create_agency(admin, "city-pd", "City PD", "requesting_agency", "US-MA")
        sup, _ = accounts.bootstrap_supervisor("sup", "Sup", PASSWORD)
        until = dt.date.today() + dt.timedelta(days=200)
        for username, agency, roles in (
            ("det", "city-pd", ["requester"]),
            ("exam", UNIT, ["examiner"]),
        ):
            accounts.create_user(admin, username, username, agency, roles, PASSWORD)
            accounts.approve_user(sup, username)
            accounts.certify_training(sup, username, until)
        requester = accounts.get_user(admin, "det")
        examiner = accounts.get_user(admin, "exam")
        probe = (faces_dir / "people" / "obama" / "obama1.jpg").read_bytes()
        view = service.requests.submit_request(requester, court_order_form(), probe, "probe.jpg")
        service.requests.run_request_search(examiner, view.id)
        with service.context.db.read() as session:
            run = session.scalar(select(SearchRun).where(SearchRun.request_id == view.id))
            assert run is not None
            recorded = run.indexes
        [entry] = entries(service, "request.search")
    finally:
        service.close()
    check_record(recorded, backend, approximate, 54)
    assert entry.payload["indexes"] == recorded
