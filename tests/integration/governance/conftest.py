"""A governed unit for access tests: agencies, one person per part, a request at each stage.

The face pipeline here is the FAKE one of :mod:`tests.fakes` (these tests are about who may do
what, not about faces); the gallery is the real enrolled one. The data directory is built once
per session and copied for every test, so each test starts from the same state and may change
it freely.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from faceledger.errors import PolicyDenied
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import LegalBasisKind, ProbeSource, Purpose
from faceledger.governance.forms import RequestForm
from faceledger.ledger.models import EntryRow as LedgerEntryRow
from faceledger.service import FaceLedger
from tests.backends import copy_data_dir
from tests.conftest import GALLERY, make_settings
from tests.factories import Bootstrap, FastFaceLedger, make_staff, persona
from tests.fakes import fake_pipeline

UNIT, BOSTON, CAMBRIDGE = "ma-state-police", "boston-pd", "cambridge-pd"

PEOPLE: dict[str, tuple[str, str, list[str]]] = {
    # key: (username, agency, roles)
    "req_a": ("det-a", BOSTON, ["requester"]),
    "req_a2": ("det-a2", BOSTON, ["requester"]),
    "req_b": ("det-b", CAMBRIDGE, ["requester"]),
    "ex1": ("ex-one", UNIT, ["examiner"]),
    "ex2": ("ex-two", UNIT, ["examiner"]),
    "rev": ("rev-one", UNIT, ["reviewer"]),
    "aud": ("aud-one", UNIT, ["auditor"]),
    "ex_out": ("ex-bpd", BOSTON, ["examiner"]),
}
"""Every persona but ``admin`` (bootstrap: admin and supervisor) and ``sup`` (the bootstrap
supervisor, who approves the accounts the admin creates)."""

STAGES = (
    "approved",
    "searched",
    "reviewed",
    "peer_reviewed",
    "released",
    "emergency_submitted",
    "emergency_approved",
    "denied",
)
"""The requests of the template, each filed by ``req_a`` (Boston), one per stage."""


BOOTSTRAP = Bootstrap(
    unit_name="MSP FR unit",
    supervisor="sup-one",
    supervisor_name="Sup One",
    certify_admin=True,
    agencies=(BOSTON, CAMBRIDGE),
    agency_names={},
)
"""The governed unit's start (:func:`tests.factories.make_staff`)."""


def form(**changes: Any) -> RequestForm:
    """A court-order request that the massachusetts profile approves."""
    today = dt.date.today()
    base = RequestForm(
        case_number="GOV-1",
        offence_code="armed_robbery",
        narrative="Armed robbery of a corner shop; the clerk photographed the suspect at the "
        "counter.",
        legal_basis_kind=LegalBasisKind.COURT_ORDER,
        legal_basis={
            "court": "Suffolk Superior Court",
            "order_id": "SUCR-2026-1",
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
    return dataclasses.replace(base, **changes)


def emergency_form(**changes: Any) -> RequestForm:
    """An emergency request (a supervisor must approve it)."""
    emergency: dict[str, Any] = {
        "case_number": "GOV-EM",
        "legal_basis_kind": LegalBasisKind.EMERGENCY,
        "legal_basis": {
            "facts": "A child was abducted an hour ago; the photo is a doorbell still."
        },
    }
    return form(**(emergency | changes))


def marks(view: Any, outcome: str = "possible_lead") -> list[dict[str, Any]]:
    """One mark per candidate of a request's view."""
    return [{"candidate_id": c["id"], "outcome": outcome, "note": ""} for c in view.candidates]


@dataclass
class Governed:
    """The service over a copy of the template, its people and its requests by stage."""

    service: FaceLedger
    people: dict[str, UserInfo]
    requests: dict[str, int]
    probe: Path

    def who(self, key: str) -> UserInfo:
        """The persona ``key``."""
        return self.people[key]

    def counts(self) -> dict[str, int]:
        """Row counts of every governed table, and the ledger size."""
        from faceledger.db import Base

        with self.service.context.db.read() as session:
            counts = {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables
                if not table.name.startswith("ledger_") and table.name != "login_failures"
            }
            counts["ledger"] = session.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0
        return counts

    def entries_of(self, action: str) -> list[Any]:
        """Every ledger entry of ``action`` (plain records), oldest first."""
        with self.service.context.db.read() as session:
            return self.service.context.ledger.query(session, action=action, limit=10_000)

    def last_entries(self, n: int) -> list[Any]:
        """The newest ``n`` ledger entries (plain records), oldest first."""
        ledger = self.service.context.ledger
        with self.service.context.db.read() as session:
            total = ledger.count(session)
            return ledger.query(session, offset=max(0, total - n), limit=n)


def _build(root: Path, enrolled: Path, faces: Path) -> tuple[dict[str, str], dict[str, int]]:
    copy_data_dir(enrolled, root)
    service = FastFaceLedger(make_settings(root), pipeline=fake_pipeline())
    try:
        cast = {
            key: persona(name, agency, *roles, display_name=name)
            for key, (name, agency, roles) in PEOPLE.items()
        }
        staff = make_staff(service, cast, BOOTSTRAP)
        who = staff.everyone()
        names = {key: user.username for key, user in who.items()}
        probe = (faces / "people" / "obama" / "obama1.jpg").read_bytes()
        requests: dict[str, int] = {}

        def file(key: str, filed: RequestForm) -> int:
            view = service.requests.submit_request(who["req_a"], filed, probe, "probe.jpg")
            requests[key] = view.id
            return view.id

        for stage in ("approved", "searched", "reviewed", "peer_reviewed", "released"):
            rid = file(stage, form(case_number=f"GOV-{stage}"))
            if stage == "approved":
                continue
            view = service.requests.run_request_search(who["ex1"], rid)
            if stage == "searched":
                continue
            service.reviews.submit_review(who["ex2"], rid, marks(view))
            if stage == "reviewed":
                continue
            service.reviews.submit_review(who["rev"], rid, marks(view))
            if stage == "released":
                service.reviews.release_request(who["ex1"], rid)
        file("emergency_submitted", emergency_form(case_number="GOV-EM-1"))
        rid = file("emergency_approved", emergency_form(case_number="GOV-EM-2"))
        service.requests.approve_emergency(who["sup"], rid)
        with pytest.raises(PolicyDenied):
            file("denied", form(case_number="GOV-denied", offence_code="shoplifting"))
        denied, _ = service.requests.list_requests(who["req_a"], "denied")
        requests["denied"] = denied[0].id
    finally:
        service.close()
    return names, requests


@pytest.fixture(scope="session")
def governed_template(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], dict[str, int]]:
    """The template data directory, the usernames by persona and the request ids by stage."""
    root = tmp_path_factory.mktemp("governed") / "data"
    names, requests = _build(root, fake_enrolled_template, faces_dir)
    return root, names, requests


@pytest.fixture
def governed(
    governed_template: tuple[Path, dict[str, str], dict[str, int]],
    faces_dir: Path,
    tmp_path: Path,
) -> Iterator[Governed]:
    """A fresh copy of the governed unit."""
    template, names, requests = governed_template
    root = tmp_path / "data"
    copy_data_dir(template, root)
    service = FastFaceLedger(make_settings(root), pipeline=fake_pipeline())
    people = {key: _info(service, name) for key, name in names.items()}
    try:
        yield Governed(service, people, requests, faces_dir / "people" / "obama" / "obama1.jpg")
    finally:
        service.close()


def _info(service: FaceLedger, username: str) -> UserInfo:
    from faceledger.governance.accounts import User

    with service.context.db.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        return UserInfo.of(user)
