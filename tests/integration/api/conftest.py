"""A unit with people, behind the REST API mounted at /api/v1 as the server mounts it, served
by a real uvicorn server on a local port (so uploads really stream over a socket).

Each persona holds exactly one role, so a role table reads plainly; ``root`` (the bootstrap
admin, also a supervisor) creates the accounts and ``sup-boot`` (the bootstrap supervisor)
approves and certifies them, since whoever creates an account may not approve it (R2). Every
persona mints and calls with its own API token.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.applications import Starlette

from faceledger import FaceLedger
from faceledger.api import mount_api
from faceledger.biometrics.pipeline import FacePipeline
from faceledger.governance.accounts import UserInfo
from faceledger.governance.forms import RequestForm
from tests.backends import copy_data_dir, listening_socket
from tests.conftest import GALLERY, make_settings
from tests.factories import PASSWORD, Bootstrap, FastFaceLedger, make_staff, persona
from tests.fakes import fake_pipeline

API = "/api/v1"
PERSONAS = ("requester", "examiner", "reviewer", "supervisor", "auditor", "admin")
PEOPLE = {
    "requester": ("det-jones", "boston-pd"),
    "examiner": ("ex-smith", "ma-state-police"),
    "reviewer": ("rev-lee", "ma-state-police"),
    "supervisor": ("sup-brown", "ma-state-police"),
    "auditor": ("aud-green", "ma-state-police"),
    "admin": ("adm-white", "ma-state-police"),
}
EXTRA_PEOPLE = {
    # A second examiner: on one request the operator (who ran the search), the first reviewer
    # and the peer reviewer must be different people (R10), and only examiners review first.
    "examiner2": ("ex-wong", "ma-state-police", ("examiner",)),
}
SECOND_SUPERVISOR = "sup-boot"
"""The second person at bootstrap: approves and certifies the accounts root creates (R2)."""
PROBE = "people/obama/obama_small.jpg"
COURT_ORDER = {
    "court": "Suffolk Superior Court",
    "order_id": "SUCR2026-0042",
    "judge": "Hon. A. Justice",
    "issued_on": (dt.date.today() - dt.timedelta(days=2)).isoformat(),
    "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
}
FORM_FIELDS: dict[str, Any] = {
    "case_number": "BPD-2026-1187",
    "offence_code": "armed_robbery",
    "narrative": "Armed robbery of a convenience store; the clerk photographed the suspect with "
    "a phone camera at the counter.",
    "legal_basis_kind": "court_order",
    **COURT_ORDER,
    "probe_source": "still_photo",
    "attested": "true",
    "attestation_text": "The subject is not sought for religion, politics or any protected "
    "activity.",
    "purpose": "criminal_investigation",
    "galleries": [GALLERY],
}
EMERGENCY_FIELDS: dict[str, Any] = {
    **{k: v for k, v in FORM_FIELDS.items() if k not in COURT_ORDER},
    "legal_basis_kind": "emergency",
    "facts": "Child abducted an hour ago; the suspect's photo came from a doorbell still.",
}


@dataclass
class ApiUnit:
    """The service, its API behind a test client, and the people who call it."""

    service: FastFaceLedger
    client: httpx.Client
    faces: Path
    root: UserInfo
    second_supervisor: UserInfo
    users: dict[str, UserInfo]
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        """Headers that authenticate as persona ``who``."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call ``path`` (under /api/v1) as ``who`` (None: without a token)."""
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers.update(self.auth(who))
        return self.client.request(method, API + path, headers=headers, **kwargs)

    def photo(self, name: str = PROBE) -> bytes:
        """The bytes of a shared face photo."""
        return (self.faces / name).read_bytes()

    def file(self, who: str, fields: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        """File a request through the API as ``who`` with the real probe photo."""
        data = dict(FORM_FIELDS if fields is None else fields)
        files = {"probe": kw.pop("probe", ("probe.jpg", self.photo(), "image/jpeg"))}
        return self.call(who, "POST", "/requests", data=data, files=files, **kw)

    def form(self, **changes: Any) -> RequestForm:
        """The court-order form, for setting up through the service directly."""
        basis = {k: FORM_FIELDS[k] for k in COURT_ORDER}
        form = RequestForm(
            case_number=FORM_FIELDS["case_number"],
            offence_code=FORM_FIELDS["offence_code"],
            narrative=FORM_FIELDS["narrative"],
            legal_basis_kind="court_order",
            legal_basis=basis,
            probe_source="still_photo",
            attested=True,
            attestation_text=FORM_FIELDS["attestation_text"],
            purpose="criminal_investigation",
            galleries=(GALLERY,),
        )
        return dataclasses.replace(form, **changes)

    def ledger_size(self) -> int:
        """Entries in the ledger now."""
        with self.service.context.db.read() as session:
            return self.service.context.ledger.tree_size(session)


def mounted(service: FaceLedger) -> Starlette:
    """A parent app that mounts the API where the server does."""
    return Starlette(routes=[mount_api(service)])


@contextmanager
def serving(app: Starlette) -> Iterator[httpx.Client]:
    """Serve ``app`` with uvicorn on a free local port; yield a client for it."""
    sock = listening_socket()
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.01)
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=120) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


CAST = {
    **{p: persona(name, agency, p) for p, (name, agency) in PEOPLE.items()},
    **{p: persona(name, agency, *roles) for p, (name, agency, roles) in EXTRA_PEOPLE.items()},
}
"""The API cast: one role per persona, and the extra people."""
BOOTSTRAP = Bootstrap(
    admin="root",
    unit_name="MA State Police FR",
    supervisor=SECOND_SUPERVISOR,
    supervisor_name="Bootstrap Supervisor",
    supervisor_password=None,
    certify_supervisor=False,
    jurisdiction="",
)


def populate(
    service: FaceLedger,
) -> tuple[UserInfo, UserInfo, dict[str, UserInfo], dict[str, str]]:
    """Set up agencies, one approved and trained account per persona (and the extra people),
    and an API token each minted for themselves (:func:`tests.factories.make_staff`)."""
    staff = make_staff(service, CAST, BOOTSTRAP, tokens=True)
    return staff.admin, staff.supervisor, staff.users, staff.tokens


@contextmanager
def running_unit(
    template: Path,
    data_dir: Path,
    faces: Path,
    pipeline: FacePipeline | None = None,
    **settings: Any,
) -> Iterator[ApiUnit]:
    """A copy of the enrolled ``template`` with people, its API served; closed afterwards
    (``pipeline``: the real models unless given, e.g. the FAKE one for a FAKE-enrolled
    template)."""
    copy_data_dir(template, data_dir)
    service = FastFaceLedger(make_settings(data_dir, **settings), pipeline=pipeline)
    try:
        root, second, users, tokens = populate(service)
        with serving(mounted(service)) as client:
            yield ApiUnit(service, client, faces, root, second, users, tokens)
    finally:
        service.close()


@pytest.fixture(scope="module")
def unit(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUnit]:
    """One unit per test module: tests in a module share it (and what they leave behind).
    The face pipeline is the FAKE one (these tests are about the API, not faces)."""
    data_dir = tmp_path_factory.mktemp("api") / "data"
    with running_unit(fake_enrolled_template, data_dir, faces_dir, fake_pipeline()) as api:
        yield api


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, from the app itself (HEAD aside)."""
    return {
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
        if method != "HEAD"
    }


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the one error shape with ``status`` and ``code``; return ``details``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    details: dict[str, Any] = body["error"]["details"]
    return details


@contextmanager
def web_clients(unit: ApiUnit) -> Iterator[tuple[FastAPI, dict[str, Any]]]:
    """The web pages over the unit's service, and a client logged in through the login form
    for each persona of PEOPLE; closed afterwards."""
    import secrets

    from starlette.testclient import TestClient

    from faceledger.web import build_web
    from tests.integration.web.conftest import csrf_of

    app = build_web(unit.service, secrets.token_bytes(32))
    clients: dict[str, Any] = {}
    try:
        for persona, (username, _) in PEOPLE.items():
            client = clients[persona] = TestClient(app, follow_redirects=False)
            token = csrf_of(client.get("/login").text)
            answer = client.post(
                "/login",
                data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
            )
            assert answer.status_code == 303, answer.text
        yield app, clients
    finally:
        for client in clients.values():
            client.close()


def stored_counts(service: FaceLedger) -> tuple[int, int, int]:
    """Requests, probe images and ledger entries ``service`` holds now (for "nothing was
    written" checks)."""
    from sqlalchemy import func, select

    from faceledger.governance.models import ProbeImage, RequestRow

    with service.context.db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(RequestRow)) or 0,
            session.scalar(select(func.count()).select_from(ProbeImage)) or 0,
            service.context.ledger.tree_size(session),
        )
