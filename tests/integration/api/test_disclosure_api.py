"""Disclosure packets over the REST API, served by a real uvicorn server on a copy of the
governed unit (FAKE pipeline: these tests are about the packet, not faces)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from faceledger.governance.accounts import User, UserInfo
from faceledger.ledger import load_public_key
from faceledger.reports.disclosure import check_packet
from faceledger.service import FaceLedger
from faceledger.service.disclosures import ACTION_NAMES
from tests.backends import copy_data_dir
from tests.conftest import make_settings
from tests.factories import FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import API, error_of, mounted, serving
from tests.integration.governance import conftest as governance

governed_template = governance.governed_template
"""The governed unit's template data directory (a session fixture of the governance tests)."""
BODY = {"recipient": "Defence counsel for R. v. Doe, docket 24-123", "purpose": "discovery"}


@dataclass
class Api:
    """The service, a client of its served API, an API token per persona, and the requests."""

    service: FaceLedger
    client: httpx.Client
    tokens: dict[str, str]
    requests: dict[str, int]

    def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, API + path, headers=headers, **kwargs)

    def produce(self, who: str, rid: int, **kwargs: Any) -> httpx.Response:
        return self.call(who, "POST", f"/requests/{rid}/disclosures", **kwargs)


def _user(service: FaceLedger, username: str) -> UserInfo:
    with service.context.db.read() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return UserInfo.of(user)


@pytest.fixture(scope="module")
def api(
    governed_template: tuple[Path, dict[str, str], dict[str, int]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    template, names, requests = governed_template
    root = tmp_path_factory.mktemp("disclosure-api") / "data"
    copy_data_dir(template, root)
    service = FastFaceLedger(make_settings(root), pipeline=fake_pipeline())
    try:
        tokens = {}
        for persona in ("aud", "sup", "req_a", "ex1"):
            user = _user(service, names[persona])
            _, tokens[persona] = service.tokens.create_api_token(user, user.username, "tests")
        with serving(mounted(service)) as client:
            yield Api(service, client, tokens, requests)
    finally:
        service.close()


def test_an_auditor_gets_the_packet_that_checks_offline(api: Api) -> None:
    rid = api.requests["released"]
    response = api.produce("aud", rid, json=BODY)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert "attachment" in response.headers["content-disposition"]
    sha = hashlib.sha256(response.content).hexdigest()
    assert response.headers["x-packet-sha256"] == sha
    key = load_public_key(api.service.public_key_path)
    report = check_packet(response.content, key, ACTION_NAMES)
    assert report.request_id == rid
    listed = api.call("aud", "GET", f"/requests/{rid}/disclosures")
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] >= 1
    last = page["items"][-1]
    assert (last["packet_sha256"], last["recipient"]) == (sha, BODY["recipient"])
    assert last["produced_by"].startswith("user:aud-one+token:")  # the token it came with
    assert last["fact_count"] == report.facts and last["purpose"] == "discovery"


def test_the_packet_comes_as_html_or_pdf_for_a_supervisor(api: Api) -> None:
    rid = api.requests["released"]
    html = api.produce("sup", rid, json=BODY, params={"format": "html"})
    assert html.status_code == 201, html.text
    assert html.headers["content-type"].startswith("text/html")
    assert "case GOV-released" in html.text and "How to check this packet" in html.text
    pdf = api.produce("sup", rid, json=BODY, params={"format": "pdf"})
    assert pdf.status_code == 201, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")


@pytest.mark.parametrize("who", ["req_a", "ex1"])
def test_requesters_and_examiners_are_refused(api: Api, who: str) -> None:
    rid = api.requests["released"]
    error_of(api.produce(who, rid, json=BODY), 403, "permission_denied")
    error_of(api.call(who, "GET", f"/requests/{rid}/disclosures"), 403, "permission_denied")


def test_bad_calls_get_the_one_error_shape(api: Api) -> None:
    rid = api.requests["released"]
    assert api.produce("aud", 9999, json=BODY).status_code == 404
    error_of(api.call("aud", "GET", "/requests/9999/disclosures"), 404, "not_found")
    assert api.call(None, "POST", f"/requests/{rid}/disclosures", json=BODY).status_code == 401
    assert api.produce("aud", rid, json={"purpose": "x"}).status_code == 422
    assert api.produce("aud", rid, json={**BODY, "extra": 1}).status_code == 422
    assert api.produce("aud", rid, json=BODY, params={"format": "docx"}).status_code == 422
    blank = api.produce("aud", rid, json={"recipient": "   "})
    assert "recipient" in error_of(blank, 400, "invalid_input")["field"]
