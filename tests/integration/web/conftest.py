"""The web pages over the real service: a unit with people, one browser-like client each.

The unit (agencies, approved and trained accounts, the enrolled gallery) is built once per
session; each module (or test that changes state) gets its own copy of the data directory.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from tests.backends import copy_data_dir

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 package for its test client and warns when it falls
    # back to httpx (what the dev extra installs). The client works the same on either.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from faceledger.governance.accounts import UserInfo
from faceledger.governance.forms import RequestForm
from faceledger.service import FaceLedger
from faceledger.web import build_web
from tests.conftest import make_settings
from tests.factories import PASSWORD, Bootstrap, FastFaceLedger, make_staff, persona
from tests.fakes import fake_pipeline

PEOPLE = {
    "requester": ("det-jones", "boston-pd", ["requester"]),
    "other_requester": ("det-ortiz", "boston-pd", ["requester"]),
    "outside_requester": ("det-cole", "somerville-pd", ["requester"]),
    "examiner": ("ex-smith", "ma-state-police", ["examiner"]),
    "first_reviewer": ("ex-patel", "ma-state-police", ["examiner"]),
    "reviewer": ("ex-lee", "ma-state-police", ["examiner", "reviewer"]),
    "auditor": ("aud-green", "ma-state-police", ["auditor"]),
    "second_admin": ("admin-2", "ma-state-police", ["admin"]),
}
ADMIN = "admin"
SUPERVISOR = "sup-brown"
"""The installation's second supervisor (bootstrap-supervisor), of the admin's unit: it
approves and certifies the accounts the admin creates, since their creator may not (R2)."""
BOOTSTRAP = Bootstrap(
    admin=ADMIN,
    admin_password=PASSWORD,
    supervisor=SUPERVISOR,
    supervisor_name=SUPERVISOR.title(),
    agencies=("boston-pd", "somerville-pd"),
)
"""The web unit's start (:func:`tests.factories.make_staff`): the admin's password is the
personas' one, so tests can log in as the admin through the form."""
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
COURT_ORDER = {
    "court": "Suffolk Superior Court",
    "order_id": "SUCR2026-0042",
    "judge": "Hon. A. Justice",
    "issued_on": (dt.date.today() - dt.timedelta(days=2)).isoformat(),
    "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
}
REQUEST_FIELDS = {
    "case_number": "BPD-2026-1187",
    "offence_code": "armed_robbery",
    "narrative": "Armed robbery of a convenience store; the clerk photographed the suspect with "
    "a phone camera at the counter.",
    "legal_basis_kind": "court_order",
    **COURT_ORDER,
    "authority": "judicial",
    "probe_source": "still_photo",
    "attested": "yes",
    "attestation_text": "Not sought for religion, politics or any protected activity.",
    "purpose": "criminal_investigation",
    "galleries": "people",
}


@pytest.fixture(scope="session")
def people_template(fake_enrolled_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FAKE-enrolled gallery plus an admin and one approved, trained account per role."""
    data_dir = tmp_path_factory.mktemp("web-unit") / "data"
    copy_data_dir(fake_enrolled_template, data_dir)
    service = FastFaceLedger(make_settings(data_dir), pipeline=fake_pipeline())
    try:
        cast = {name: persona(name, agency, *roles) for name, agency, roles in PEOPLE.values()}
        make_staff(service, cast, BOOTSTRAP)
    finally:
        service.close()
    return data_dir


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class Site:
    """The web application over one data directory, and a logged-in client per person."""

    def __init__(self, data_dir: Path, faces: Path) -> None:
        # The FAKE face pipeline (tests/fakes.py): these tests are about pages, not faces.
        self.service: FaceLedger = FastFaceLedger(make_settings(data_dir), pipeline=fake_pipeline())
        self.app: FastAPI = build_web(self.service, secrets.token_bytes(32))
        self.faces = faces
        self._clients: dict[str, TestClient] = {}
        self._spare: list[TestClient] = []

    def anonymous(self, **options: Any) -> TestClient:
        """A client with no session (closed with the site)."""
        client = TestClient(self.app, follow_redirects=False, **options)
        self._spare.append(client)
        return client

    def login(self, client: TestClient, username: str) -> httpx.Response:
        """Log ``client`` in through the login form; return the answer to the post."""
        token = csrf_of(client.get("/login").text)
        return client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        )

    def as_(self, username: str) -> TestClient:
        """A client logged in as ``username`` (one per person, kept for the site's life)."""
        if username not in self._clients:
            client = TestClient(self.app, follow_redirects=False)
            answer = self.login(client, username)
            assert answer.status_code == 303, answer.text
            self._clients[username] = client
        return self._clients[username]

    def post(self, username: str, path: str, page: str, **kwargs: Any) -> httpx.Response:
        """Post a form as ``username`` with the CSRF token taken from ``page``."""
        client = self.as_(username)
        data = dict(kwargs.pop("data", {}))
        data["csrf_token"] = csrf_of(client.get(page).text)
        return client.post(path, data=data, **kwargs)

    def file_request(self, username: str = "det-jones", **changes: str) -> httpx.Response:
        """File a request through the form with a real photo of Obama as the probe."""
        photo = (self.faces / "people" / "obama" / "obama_small.jpg").read_bytes()
        return self.post(
            username,
            "/requests/new",
            "/requests/new",
            data={**REQUEST_FIELDS, **changes},
            files={"probe": ("probe.jpg", photo, "image/jpeg")},
        )

    def user(self, username: str) -> UserInfo:
        """The account of ``username``, as the service hands it to a logged-in person."""
        return self.service.accounts.user_for_token(self.service.accounts.login(username, PASSWORD))

    def released_request(self) -> tuple[int, int, int]:
        """A request taken to release through the service (quicker than the forms): its id,
        the released candidate and one candidate that was not released."""
        photo = (self.faces / "people" / "obama" / "obama_small.jpg").read_bytes()
        requester, examiner, first, peer = (
            self.user(n) for n in ("det-jones", "ex-smith", "ex-patel", "ex-lee")
        )
        s = self.service
        form = RequestForm(
            case_number="BPD-2026-2001",
            offence_code="armed_robbery",
            narrative=str(REQUEST_FIELDS["narrative"]),
            legal_basis_kind="court_order",
            legal_basis=COURT_ORDER,
            probe_source="still_photo",
            attested=True,
            attestation_text="Not sought for any protected activity.",
            purpose="criminal_investigation",
            galleries=("people",),
        )
        filed = s.requests.submit_request(requester, form, photo, "probe.jpg")
        found = s.requests.run_request_search(examiner, filed.id).candidates
        lead = next(c["id"] for c in found if c["external_id"] == "obama")
        marks = [
            {
                "candidate_id": c["id"],
                "outcome": "possible_lead" if c["id"] == lead else "not_match",
            }
            for c in found
        ]
        # Requester, operator, first and peer reviewer are four different people (R10).
        s.reviews.submit_review(first, filed.id, marks)
        s.reviews.submit_review(peer, filed.id, marks)
        s.reviews.release_request(examiner, filed.id)
        return filed.id, lead, next(c["id"] for c in found if c["id"] != lead)

    def ledger_size(self) -> int:
        """How many ledger entries there are."""
        context = self.service.context
        with context.db.read() as session:
            return context.ledger.tree_size(session)

    def close(self) -> None:
        for client in [*self._clients.values(), *self._spare]:
            client.close()
        self.service.close()


def make_site(template: Path, faces: Path, target: Path) -> Site:
    """A site over a fresh copy of ``template``."""
    data_dir = target / "data"
    copy_data_dir(template, data_dir)
    return Site(data_dir, faces)


@pytest.fixture(scope="module")
def module_site(
    people_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """One site shared by a module's tests (for tests that read, or change little)."""
    site = make_site(people_template, faces_dir, tmp_path_factory.mktemp("web-site"))
    yield site
    site.close()


@pytest.fixture
def site(people_template: Path, faces_dir: Path, tmp_path: Path) -> Iterator[Site]:
    """A site of one's own, for a test that changes state."""
    made = make_site(people_template, faces_dir, tmp_path)
    yield made
    made.close()
