"""Every kind of refusal through HTTP: its status, its code and the one error shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import FORM_FIELDS, ApiUnit, error_of


@pytest.mark.parametrize(
    ("changes", "requirement", "words"),
    [
        ({"offence_code": "shoplifting"}, "R6", "misdemeanour"),
        ({"probe_source": "video_frame"}, "R7", "video_frame"),
        ({"purpose": "immigration_enforcement"}, "R8", "immigration_enforcement"),
        ({"attested": "false"}, "R8", "attest"),
        ({"legal_basis_kind": "investigation"}, "R3", "investigation"),
    ],
    ids=["R6-misdemeanour", "R7-video-frame", "R8-immigration", "R8-no-attestation", "R3-basis"],
)
def test_policy_denial_is_403_with_every_reason(
    unit: ApiUnit, changes: dict[str, Any], requirement: str, words: str
) -> None:
    before = unit.call("supervisor", "GET", "/requests", params={"state": "denied"}).json()
    response = unit.file("requester", {**FORM_FIELDS, **changes})
    details = error_of(response, 403, "policy_denied")
    assert requirement in details["requirements"]
    assert any(words in reason for reason in details["reasons"]), details["reasons"]
    # The refused request is kept, as denied, with the same reasons (R17 counts it).
    after = unit.call("supervisor", "GET", "/requests", params={"state": "denied"}).json()
    assert after["total"] == before["total"] + 1
    assert any(words in r for r in after["items"][0]["decision"]["reasons"])


def test_wrong_role_is_403(unit: ApiUnit) -> None:
    filed = unit.file("requester").json()
    # The lifecycle: the requester sees their request, but only the operating unit searches.
    refused = unit.call("requester", "POST", f"/requests/{filed['id']}/search")
    details = error_of(refused, 403, "permission_denied")
    assert details["action"] == "request.search" and details["request_id"] == filed["id"]
    assert "operating unit" in refused.json()["error"]["message"]
    # Outside the lifecycle: the access registry, or the account rules, refuse.
    details = error_of(unit.call("requester", "GET", "/violations"), 403, "permission_denied")
    assert details["action"] == "violations.read"
    details = error_of(unit.call("examiner", "GET", "/ledger/entries"), 403, "permission_denied")
    assert details["action"] == "ledger.read"
    assert set(details["roles"]) == {"auditor", "supervisor", "admin"}
    error_of(
        unit.call(
            "auditor",
            "POST",
            "/agencies",
            json={"slug": "x", "name": "X", "kind": "requesting_agency"},
        ),
        403,
        "permission_denied",
    )
    # Each refusal is recorded for supervisors and auditors (R18).
    recorded = unit.call("auditor", "GET", "/violations", params={"kind": "denied_action"}).json()
    assert any("ledger.read" in v["reason"] for v in recorded["items"])


def test_illegal_transition_is_409(unit: ApiUnit) -> None:
    filed = unit.file("requester").json()
    error_of(unit.call("examiner", "POST", f"/requests/{filed['id']}/release"), 409, "conflict")
    marks = {"marks": [{"candidate_id": 1, "outcome": "not_match"}]}
    error_of(
        unit.call("examiner", "POST", f"/requests/{filed['id']}/reviews", json=marks),
        409,
        "conflict",
    )
    error_of(
        unit.call("supervisor", "POST", f"/users/{unit.users['examiner'].username}/approve"),
        409,
        "conflict",
    )


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("supervisor", "GET", "/requests/999999"),
        ("examiner", "POST", "/requests/999999/search"),
        ("auditor", "GET", "/users/nobody"),
        ("auditor", "GET", "/galleries/no-such-gallery"),
        ("auditor", "GET", "/ledger/entries/999999/proof"),
        ("admin", "POST", "/tokens/999999/revoke"),
    ],
)
def test_not_found_is_404(unit: ApiUnit, who: str, method: str, path: str) -> None:
    error_of(unit.call(who, method, path), 404, "not_found")


def test_a_requester_cannot_see_another_agency_s_request(unit: ApiUnit) -> None:
    filed = unit.file("requester").json()
    agency = unit.call(
        "admin",
        "POST",
        "/agencies",
        json={"slug": "cambridge-pd", "name": "Cambridge PD", "kind": "requesting_agency"},
    )
    assert agency.status_code == 201, agency.text
    other = unit.call(
        "admin",
        "POST",
        "/users",
        json={
            "username": "det-other",
            "display_name": "Det Other",
            "agency": "cambridge-pd",
            "roles": ["requester"],
            "password": "another long passphrase",
        },
    )
    assert other.status_code == 201, other.text
    # adm-white created the account and may not approve it; the bootstrap supervisor does (R2).
    det_other = unit.service.accounts.approve_user(unit.second_supervisor, "det-other")
    _, token = unit.service.tokens.create_api_token(det_other, "det-other", "tests")
    hidden = unit.client.get(
        f"/api/v1/requests/{filed['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    error_of(hidden, 404, "not_found")
    listed = unit.client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200 and filed["id"] not in [
        r["id"] for r in listed.json()["items"]
    ]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("POST", "/agencies", {"json": {"slug": "x"}}, "body.name"),
        ("POST", "/agencies", {"json": {"slug": "x", "name": "X", "kind": "club"}}, "body.kind"),
        (
            "POST",
            "/agencies",
            {"json": {"slug": "x", "name": "X", "kind": "requesting_agency", "colour": 1}},
            "body.colour",
        ),
        (
            "POST",
            "/agencies",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            "body.1",
        ),
        ("GET", "/requests", {"params": {"limit": 0}}, "query.limit"),
        ("GET", "/requests", {"params": {"state": "lost"}}, "query.state"),
        ("GET", "/requests/abc", {}, "path.request_id"),
        ("GET", "/ledger/entries", {"params": {"since": "2026-01-01T00:00:00"}}, "query.since"),
        ("POST", "/requests", {"data": FORM_FIELDS}, "body.probe"),
        (
            "POST",
            "/requests/1/reviews",
            {"json": {"marks": [{"candidate_id": 1, "outcome": "maybe"}]}},
            "body.marks.0.outcome",
        ),
    ],
    ids=[
        "missing-field",
        "bad-enum",
        "unknown-field",
        "bad-json",
        "limit-0",
        "bad-state",
        "path-not-int",
        "naive-time",
        "no-probe",
        "bad-outcome",
    ],
)
def test_validation_is_422_naming_the_field(
    unit: ApiUnit, method: str, path: str, kwargs: dict[str, Any], field: str
) -> None:
    who = "auditor" if path.startswith("/ledger") else "admin"
    details = error_of(unit.call(who, method, path, **kwargs), 422, "invalid_input")
    assert field in [f["field"] for f in details["fields"]], details


def test_validation_never_echoes_the_input(unit: ApiUnit) -> None:
    response = unit.call(None, "POST", "/auth/login", json={"password": "hunter2 secret"})
    error_of(response, 422, "invalid_input")
    assert "hunter2" not in response.text


def test_service_input_checks_are_400(unit: ApiUnit) -> None:
    weak = unit.call(
        "admin",
        "PUT",
        f"/users/{unit.users['requester'].username}/password",
        json={"password": "short"},
    )
    assert error_of(weak, 400, "invalid_input")["field"] == "password"
    # One's own password needs the current one, which this route cannot carry yet.
    own = unit.call(
        "admin",
        "PUT",
        f"/users/{unit.users['admin'].username}/password",
        json={"password": "another long passphrase"},
    )
    assert error_of(own, 400, "invalid_input")["field"] == "current_password"
    unknown = unit.call("admin", "PUT", "/policy", json={"profile": "atlantis"})
    error_of(unknown, 400, "invalid_input")
    path_like = unit.call("admin", "PUT", "/policy", json={"profile": "/etc/passwd"})
    error_of(path_like, 422, "invalid_input")
