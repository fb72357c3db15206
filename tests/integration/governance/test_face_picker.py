"""A targeted probe through the web form: a photo of several faces comes back with its faces to
choose from, and only the chosen face is searched (issue 8, point 7).

The face pipeline is the labelled FAKE of :mod:`tests.fakes`, detecting three faces in any
photo, so the test is about the form and the service's rules, not about face detection.
"""

from __future__ import annotations

import re
import secrets
import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from tests.factories import FastFaceLedger

with warnings.catch_warnings():  # starlette's test client warns about its own httpx use
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from faceledger.web import build_web
from tests.conftest import make_settings
from tests.factories import PASSWORD
from tests.fakes import fake_pipeline
from tests.integration.governance.conftest import Governed

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
KEPT = re.compile(r'name="probe_kept" value="([^"]+)"')


@pytest.fixture
def three_faces(governed: Governed) -> Iterator[Governed]:
    """The governed unit with a FAKE pipeline that finds three faces in every photo."""
    settings = governed.service.settings
    governed.service.close()
    service = FastFaceLedger(make_settings(settings.data_dir), pipeline=fake_pipeline(3))
    try:
        yield Governed(service, governed.people, governed.requests, governed.probe)
    finally:
        service.close()


def _login(client: TestClient, username: str) -> str:
    token = CSRF.search(client.get("/login").text)
    assert token
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert answer.status_code == 303, answer.text
    found = CSRF.search(client.get("/requests/new").text)
    assert found
    return found.group(1)


def _fields(csrf: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "case_number": "PICK-1",
        "offence_code": "armed_robbery",
        "narrative": "Armed robbery of a corner shop; the clerk photographed the suspect and two "
        "customers at the counter.",
        "legal_basis_kind": "court_order",
        "court": "Suffolk Superior Court",
        "order_id": "SUCR-2026-9",
        "judge": "Hon. A. Judge",
        "issued_on": "2026-11-30",
        "expires_on": "2026-12-30",
        "authority": "judicial",
        "probe_source": "still_photo",
        "attested": "yes",
        "attestation_text": "Not sought for religion, politics or any protected activity.",
        "purpose": "criminal_investigation",
        "galleries": "people",
        "max_candidates": "3",
    }


def test_a_photo_of_several_faces_is_filed_for_the_one_face_chosen(three_faces: Governed) -> None:
    g = three_faces
    client = TestClient(build_web(g.service, secrets.token_bytes(32)), follow_redirects=False)
    csrf = _login(client, g.who("req_a").username)
    photo = g.probe.read_bytes()
    before = g.counts()

    # 1. Without a choice: the form comes back with the three faces and the photo kept.
    answer = client.post(
        "/requests/new", data=_fields(csrf), files={"probe": ("group.jpg", photo, "image/jpeg")}
    )
    assert answer.status_code == 400
    assert 'data-testid="face-picker"' in answer.text
    assert answer.text.count('name="face_index"') == 3
    assert answer.text.count('src="data:image/jpeg;base64,') == 3
    kept = KEPT.search(answer.text)
    assert kept
    assert g.counts() == before  # nothing filed, nothing recorded

    # 2. The requester picks face 1: the kept photo is filed for that face alone.
    chosen = {**_fields(csrf), "face_index": "1", "probe_kept": kept.group(1)}
    chosen["probe_name"] = "group.jpg"
    filed = client.post("/requests/new", data=chosen)
    assert filed.status_code == 303, filed.text
    request_id = int(filed.headers["location"].rsplit("/", 1)[1])
    view = g.service.requests.get_request(g.who("req_a"), request_id)
    assert (view.state, view.face_index) == ("approved", 1)

    # 3. Only that face is searched, and the cap holds for the whole request.
    searched = g.service.requests.run_request_search(g.who("ex1"), request_id)
    assert searched.run is not None
    assert [f["index"] for f in searched.run.faces] == [1]
    assert {c.face_index for c in searched.run.candidates} == {1}
    assert len(searched.run.candidates) <= 3


def test_a_kept_photo_that_is_not_base64_is_refused(three_faces: Governed) -> None:
    g = three_faces
    client = TestClient(build_web(g.service, secrets.token_bytes(32)), follow_redirects=False)
    csrf = _login(client, g.who("req_a").username)
    before = g.counts()
    answer = client.post(
        "/requests/new", data={**_fields(csrf), "face_index": "0", "probe_kept": "not base64!"}
    )
    assert answer.status_code == 400
    assert "damaged" in answer.text
    assert g.counts() == before
