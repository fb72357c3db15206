"""The registry of actions through the interfaces: a sample of every request action over the
REST API and the web pages, each allowed once and refused once or twice.

The expectations are written by hand (as in ``test_registry_matrix``). An allowed call answers
200/201 (API) or a 303 redirect (a web form), and its change is seen through the service; a
refused one answers 403 (``permission_denied`` or ``policy_denied``) or 404 (``not_found``)
and leaves every table as it was but for one violation and one ``access.denied`` ledger
entry naming the action.

The API is built with :func:`faceledger.api.build_api` and the web app with
:func:`faceledger.web.build_web` on the governed unit's service; the face pipeline is the
labelled FAKE of :mod:`tests.fakes`. The admin (whose bootstrap password is unknown) is not
used on the web.
"""

from __future__ import annotations

import re
import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette prefers the httpx2 package for its test client and warns on httpx (what the
    # dev extra installs); the client works the same on either (as tests/integration/web).
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from faceledger.api import build_api
from faceledger.web import build_web
from tests.factories import PASSWORD
from tests.integration.governance.conftest import Governed, form

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def _last_entry(g: Governed) -> tuple[str, dict[str, Any]]:
    [entry] = g.last_entries(1)
    return entry.action, dict(entry.payload)


RECORDED_AS = {"request.candidates": "request.read"}
"""A chip of a request out of sight is refused by reading the request ("no such request")."""


def _assert_one_refusal(
    g: Governed, before: dict[str, int], action: str, status: int | None = None
) -> None:
    if status == 404:
        action = RECORDED_AS.get(action, action)
    assert _delta(before, g.counts()) == {"violations": 1, "alerts": 1, "ledger": 1}
    kind, payload = _last_entry(g)
    assert kind == "access.denied"
    assert payload["action"] == action, payload


def _state(g: Governed, stage: str) -> str:
    return str(g.service.requests.get_request(g.who("sup"), g.requests[stage]).state)


def _candidates(g: Governed, stage: str) -> list[int]:
    view = g.service.requests.get_request(g.who("ex1"), g.requests[stage])
    return [int(c["id"]) for c in view.candidates]


def _released(g: Governed) -> int:
    view = g.service.requests.get_request(g.who("req_a"), g.requests["released"])
    assert view.release is not None
    return int(view.release.candidate_ids[0])


# -- the REST API ----------------------------------------------------------------------------


class Api:
    """The governed service behind its REST API, each persona calling with its own token."""

    def __init__(self, g: Governed) -> None:
        self.g = g
        self.client = TestClient(build_api(g.service))
        self._tokens: dict[str, str] = {}

    def token(self, key: str) -> str:
        """Persona ``key``'s own API token (minted once, before anything is counted)."""
        if key not in self._tokens:
            who = self.g.who(key)
            _, self._tokens[key] = self.g.service.tokens.create_api_token(who, who.username, "t")
        return self._tokens[key]

    def call(self, key: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(key)}"}
        return self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def api(governed: Governed) -> Iterator[Api]:
    made = Api(governed)
    with made.client:
        yield made


@dataclass(frozen=True)
class ApiCall:
    """One request action over the API: the stage of its request, the call, and how an
    allowed call shows its change."""

    stage: str
    method: str
    path: Callable[[Governed, int], str]
    body: Callable[[Governed], dict[str, Any] | None] = lambda g: None
    check: Callable[[Governed, httpx.Response], None] = lambda g, answer: None


def _marks_body(stage: str) -> Callable[[Governed], dict[str, Any]]:
    return lambda g: {
        "marks": [
            {"candidate_id": c, "outcome": "possible_lead", "note": ""}
            for c in _candidates(g, stage)
        ]
    }


def _now_state(stage: str, state: str) -> Callable[[Governed, httpx.Response], None]:
    def check(g: Governed, answer: httpx.Response) -> None:
        assert answer.json()["state"] == state
        assert _state(g, stage) == state

    return check


def _is_jpeg(g: Governed, answer: httpx.Response) -> None:
    assert answer.content[:2] == b"\xff\xd8"


def _is_probe(g: Governed, answer: httpx.Response) -> None:
    assert answer.content == g.probe.read_bytes()


API_CALLS: dict[str, ApiCall] = {
    "request.read": ApiCall(
        "approved",
        "GET",
        lambda g, rid: f"/requests/{rid}",
        check=lambda g, answer: (
            None if answer.json()["id"] == g.requests["approved"] else pytest.fail(answer.text)
        ),
    ),
    "request.probe": ApiCall(
        "approved", "GET", lambda g, rid: f"/requests/{rid}/probe", check=_is_probe
    ),
    "request.candidates": ApiCall(
        "searched",
        "GET",
        lambda g, rid: f"/requests/{rid}/candidates/{_candidates(g, 'searched')[0]}/chip.jpg",
        check=_is_jpeg,
    ),
    "request.approve_emergency": ApiCall(
        "emergency_submitted",
        "POST",
        lambda g, rid: f"/requests/{rid}/approve-emergency",
        check=_now_state("emergency_submitted", "approved_emergency"),
    ),
    "request.search": ApiCall(
        "approved",
        "POST",
        lambda g, rid: f"/requests/{rid}/search",
        check=_now_state("approved", "searched"),
    ),
    "request.review.first": ApiCall(
        "searched",
        "POST",
        lambda g, rid: f"/requests/{rid}/reviews",
        _marks_body("searched"),
        _now_state("searched", "reviewed"),
    ),
    "request.review.peer": ApiCall(
        "reviewed",
        "POST",
        lambda g, rid: f"/requests/{rid}/reviews",
        _marks_body("reviewed"),
        _now_state("reviewed", "peer_reviewed"),
    ),
    "request.release": ApiCall(
        "peer_reviewed",
        "POST",
        lambda g, rid: f"/requests/{rid}/release",
        check=_now_state("peer_reviewed", "released"),
    ),
    "request.close": ApiCall(
        "searched",
        "POST",
        lambda g, rid: f"/requests/{rid}/close",
        lambda g: {"reason": "no usable candidate"},
        _now_state("searched", "no_lead"),
    ),
    "request.lead_use": ApiCall(
        "released",
        "POST",
        lambda g, rid: f"/requests/{rid}/lead-uses",
        lambda g: {"candidate_id": _released(g), "use": "further_investigation"},
        lambda g, answer: (
            None
            if [u["use"] for u in answer.json()["lead_uses"]] == ["further_investigation"]
            else pytest.fail(answer.text)
        ),
    ),
    "request.file_statement": ApiCall(
        "emergency_approved",
        "POST",
        lambda g, rid: f"/requests/{rid}/emergency-filing",
        lambda g: {"reference": "SUCR-EM-9"},
        lambda g, answer: (
            None
            if answer.json()["emergency"]["filing_reference"] == "SUCR-EM-9"
            else pytest.fail(answer.text)
        ),
    ),
    "request.court_refused": ApiCall(
        "emergency_approved",
        "POST",
        lambda g, rid: f"/requests/{rid}/court-refusal",
        lambda g: {"note": "refused"},
        _now_state("emergency_approved", "sealed"),
    ),
}

API_CASES: list[tuple[str, str, int, str | None]] = [
    # (action, persona, status, error code)
    ("request.read", "ex1", 200, None),
    ("request.read", "req_b", 404, "not_found"),
    ("request.read", "ex_out", 404, "not_found"),
    ("request.probe", "req_a2", 200, None),
    ("request.probe", "req_b", 404, "not_found"),
    ("request.candidates", "rev", 200, None),
    ("request.candidates", "ex_out", 404, "not_found"),
    ("request.approve_emergency", "sup", 200, None),
    ("request.approve_emergency", "aud", 403, "policy_denied"),
    ("request.approve_emergency", "req_a", 403, "permission_denied"),
    ("request.search", "ex2", 200, None),
    ("request.search", "rev", 403, "policy_denied"),
    ("request.search", "req_b", 404, "not_found"),
    ("request.review.first", "ex2", 200, None),
    ("request.review.first", "ex1", 403, "permission_denied"),
    ("request.review.first", "sup", 403, "policy_denied"),
    ("request.review.peer", "rev", 200, None),
    ("request.review.peer", "ex2", 403, "permission_denied"),
    ("request.release", "sup", 200, None),
    ("request.release", "rev", 403, "policy_denied"),
    ("request.release", "req_a", 403, "permission_denied"),
    ("request.close", "ex1", 200, None),
    ("request.close", "sup", 403, "policy_denied"),
    ("request.lead_use", "req_a2", 200, None),
    ("request.lead_use", "ex1", 403, "permission_denied"),
    ("request.lead_use", "req_b", 404, "not_found"),
    ("request.file_statement", "req_a", 200, None),
    ("request.file_statement", "sup", 403, "permission_denied"),
    ("request.court_refused", "admin", 200, None),
    ("request.court_refused", "req_a", 403, "permission_denied"),
    ("request.court_refused", "ex1", 403, "policy_denied"),
]


@pytest.mark.parametrize(
    ("action", "persona", "status", "code"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}") for case in API_CASES],
)
def test_api_request_action(
    governed: Governed, api: Api, action: str, persona: str, status: int, code: str | None
) -> None:
    """One request action over the API, as one persona with its own token."""
    spec = API_CALLS[action]
    rid = governed.requests[spec.stage]
    path, body = spec.path(governed, rid), spec.body(governed)
    api.token(persona)
    before = governed.counts()
    answer = api.call(persona, spec.method, path, json=body)
    assert answer.status_code == status, answer.text
    if code is None:
        spec.check(governed, answer)
        return
    assert answer.json()["error"]["code"] == code
    _assert_one_refusal(governed, before, action, status)


def test_api_submit(governed: Governed, api: Api) -> None:
    """request.submit over the API: a requester of another agency files (201)."""
    filed = form(case_number="GOV-api")
    fields = {
        "case_number": filed.case_number,
        "offence_code": filed.offence_code,
        "narrative": filed.narrative,
        "legal_basis_kind": "court_order",
        **filed.legal_basis,
        "probe_source": "still_photo",
        "attested": "true",
        "attestation_text": filed.attestation_text,
        "purpose": "criminal_investigation",
        "galleries": list(filed.galleries),
    }
    api.token("req_b")
    before = governed.counts()
    answer = api.call(
        "req_b",
        "POST",
        "/requests",
        data=fields,
        files={"probe": ("probe.jpg", governed.probe.read_bytes(), "image/jpeg")},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "approved"
    assert answer.json()["agency"] == "cambridge-pd"
    assert _delta(before, governed.counts()) == {"search_requests": 1, "ledger": 1}


@pytest.mark.parametrize(
    ("persona", "status", "code"),
    [("aud", 200, None), ("req_a", 403, "permission_denied"), ("ex1", 403, "permission_denied")],
)
def test_api_violations_read(
    governed: Governed, api: Api, persona: str, status: int, code: str | None
) -> None:
    """violations.read over the API (an action without a request)."""
    api.token(persona)
    before = governed.counts()
    answer = api.call(persona, "GET", "/violations")
    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["error"]["code"] == code
        _assert_one_refusal(governed, before, "violations.read")


# -- the web pages ---------------------------------------------------------------------------


class Web:
    """The governed service behind its web pages, one logged-in client per persona."""

    def __init__(self, g: Governed) -> None:
        self.g = g
        self.app = build_web(g.service, secrets.token_bytes(32))
        self._clients: dict[str, tuple[TestClient, str]] = {}

    def client(self, key: str) -> tuple[TestClient, str]:
        """Persona ``key``'s logged-in client and its session's CSRF token."""
        assert key != "admin", "the admin's bootstrap password is unknown"
        if key not in self._clients:
            client = TestClient(self.app, follow_redirects=False)
            token = _csrf(client.get("/login").text)
            answer = client.post(
                "/login",
                data={
                    "username": self.g.who(key).username,
                    "password": PASSWORD,
                    "csrf_token": token,
                    "next": "/",
                },
            )
            assert answer.status_code == 303, answer.text
            self._clients[key] = (client, _csrf(client.get("/").text))
        return self._clients[key]

    def close(self) -> None:
        for client, _ in self._clients.values():
            client.close()


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture
def web(governed: Governed) -> Iterator[Web]:
    made = Web(governed)
    yield made
    made.close()


@dataclass(frozen=True)
class WebCall:
    """One request action through a web page or form."""

    stage: str
    method: str
    path: Callable[[Governed, int], str]
    data: Callable[[Governed], dict[str, Any]] = lambda g: {}
    state: str | None = None
    """The request's state after an allowed form (None: a page that changes nothing)."""


def _review_form(stage: str) -> Callable[[Governed], dict[str, Any]]:
    def data(g: Governed) -> dict[str, Any]:
        ids = _candidates(g, stage)
        fields: dict[str, Any] = {"candidate": [str(c) for c in ids]}
        for c in ids:
            fields[f"outcome-{c}"], fields[f"note-{c}"] = "possible_lead", ""
        return fields

    return data


WEB_CALLS: dict[str, WebCall] = {
    "request.read": WebCall("approved", "GET", lambda g, rid: f"/requests/{rid}"),
    "request.probe": WebCall("approved", "GET", lambda g, rid: f"/requests/{rid}/faces/0.jpg"),
    "request.candidates": WebCall(
        "searched",
        "GET",
        lambda g, rid: f"/requests/{rid}/candidates/{_candidates(g, 'searched')[0]}.jpg",
    ),
    "request.approve_emergency": WebCall(
        "emergency_submitted",
        "POST",
        lambda g, rid: f"/requests/{rid}/approve-emergency",
        state="approved_emergency",
    ),
    "request.search": WebCall(
        "approved", "POST", lambda g, rid: f"/requests/{rid}/search", state="searched"
    ),
    "request.review.first": WebCall(
        "searched",
        "POST",
        lambda g, rid: f"/requests/{rid}/review",
        _review_form("searched"),
        "reviewed",
    ),
    "request.review.peer": WebCall(
        "reviewed",
        "POST",
        lambda g, rid: f"/requests/{rid}/review",
        _review_form("reviewed"),
        "peer_reviewed",
    ),
    "request.release": WebCall(
        "peer_reviewed", "POST", lambda g, rid: f"/requests/{rid}/release", state="released"
    ),
    "request.close": WebCall(
        "searched",
        "POST",
        lambda g, rid: f"/requests/{rid}/close",
        lambda g: {"reason": "no usable candidate"},
        "no_lead",
    ),
    "request.lead_use": WebCall(
        "released",
        "POST",
        lambda g, rid: f"/requests/{rid}/lead-use",
        lambda g: {"candidate_id": str(_released(g)), "use": "further_investigation"},
        "released",
    ),
    "request.file_statement": WebCall(
        "emergency_approved",
        "POST",
        lambda g, rid: f"/requests/{rid}/file-statement",
        lambda g: {"reference": "SUCR-EM-11"},
        "approved_emergency",
    ),
    "request.court_refused": WebCall(
        "emergency_approved",
        "POST",
        lambda g, rid: f"/requests/{rid}/court-refusal",
        lambda g: {"note": "refused"},
        "sealed",
    ),
}

WEB_CASES: list[tuple[str, str, int]] = [
    # (action, persona, status): 200 a page, 303 a form that worked, 403/404 a refusal
    ("request.read", "rev", 200),
    ("request.read", "req_b", 404),
    ("request.probe", "req_a", 200),
    ("request.probe", "ex_out", 404),
    ("request.candidates", "aud", 200),
    ("request.candidates", "req_b", 404),
    ("request.approve_emergency", "sup", 303),
    ("request.approve_emergency", "aud", 403),
    ("request.search", "ex1", 303),
    ("request.search", "rev", 403),
    ("request.search", "req_b", 404),
    ("request.review.first", "ex2", 303),
    ("request.review.first", "ex1", 403),
    ("request.review.peer", "rev", 303),
    ("request.review.peer", "ex1", 403),
    ("request.release", "ex2", 303),
    ("request.release", "rev", 403),
    ("request.close", "ex1", 303),
    ("request.close", "sup", 403),
    ("request.lead_use", "req_a2", 303),
    ("request.lead_use", "sup", 403),
    ("request.file_statement", "req_a", 303),
    ("request.file_statement", "sup", 403),
    ("request.court_refused", "sup", 303),
    ("request.court_refused", "ex1", 403),
]


@pytest.mark.parametrize(
    ("action", "persona", "status"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}") for case in WEB_CASES],
)
def test_web_request_action(
    governed: Governed, web: Web, action: str, persona: str, status: int
) -> None:
    """One request action through the web, as one logged-in persona."""
    spec = WEB_CALLS[action]
    rid = governed.requests[spec.stage]
    path, data = spec.path(governed, rid), spec.data(governed)
    client, csrf = web.client(persona)
    before_state = _state(governed, spec.stage)
    before = governed.counts()
    if spec.method == "GET":
        answer = client.get(path)
    else:
        answer = client.post(path, data={**data, "csrf_token": csrf})
    assert answer.status_code == status, answer.text[:2000]
    if status == 200:
        assert _delta(before, governed.counts()) == {}
    elif status == 303:
        assert answer.headers["location"].startswith(f"/requests/{rid}")
        assert _state(governed, spec.stage) == spec.state
        assert _delta(before, governed.counts()).get("ledger") == 1
    else:
        _assert_one_refusal(governed, before, action, status)
        assert _state(governed, spec.stage) == before_state
