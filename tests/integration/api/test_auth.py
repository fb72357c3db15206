"""Authentication: API tokens (issued, listed, revoked, expired) and login sessions."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from faceledger.governance.tokens import ApiToken
from tests.factories import PASSWORD
from tests.integration.api.conftest import ApiUnit, error_of


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unauthenticated(unit: ApiUnit, headers: dict[str, str]) -> str:
    response = unit.client.get("/api/v1/me", headers=headers)
    error_of(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")
    return str(response.json()["error"]["message"])


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("flt_not-a-token"), bearer("not-a-session"), {"Authorization": "Basic YTpi"}],
    ids=["missing", "unknown-api-token", "unknown-session", "basic-scheme"],
)
def test_without_a_valid_token_it_is_401(unit: ApiUnit, headers: dict[str, str]) -> None:
    unauthenticated(unit, headers)


def test_api_token_lifecycle(unit: ApiUnit) -> None:
    issued = unit.call(
        "examiner", "POST", "/tokens", json={"username": "ex-smith", "name": "records sync"}
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    token = body["token"]
    assert token.startswith("flt_") and body["username"] == "ex-smith"
    assert body["created_by"] == "ex-smith" and body["expires_at"] is None

    me = unit.client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["username"] == "ex-smith"
    assert me.json()["roles"] == ["examiner"]

    listed = unit.call("admin", "GET", "/tokens", params={"username": "ex-smith"}).json()
    mine = [t for t in listed["items"] if t["id"] == body["id"]]
    assert mine and mine[0]["last_used_at"] is not None
    assert "token" not in mine[0] and token not in str(listed)

    # Neither the token nor its hash is in the ledger.
    export = unit.call("auditor", "GET", "/ledger/export")
    assert export.status_code == 200
    assert token not in export.text
    assert hashlib.sha256(token.encode()).hexdigest() not in export.text
    created = unit.call(
        "auditor", "GET", "/ledger/entries", params={"action": "token.create"}
    ).json()
    mint = [e for e in created["items"] if e["payload"]["name"] == "records sync"]
    assert len(mint) == 1
    # Made with the examiner's own token, the entry names the person and that token.
    assert mint[0]["actor"].startswith("user:ex-smith+token:")

    revoked = unit.call("admin", "POST", f"/tokens/{body['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert "revoked" in unauthenticated(unit, bearer(token))
    error_of(unit.call("admin", "POST", f"/tokens/{body['id']}/revoke"), 409, "conflict")
    entries = unit.call("auditor", "GET", "/ledger/entries", params={"action": "token.revoke"})
    assert entries.json()["total"] >= 1


def test_expired_token_and_disabled_account_are_refused(unit: ApiUnit) -> None:
    issued = unit.call(
        "auditor", "POST", "/tokens", json={"username": "aud-green", "name": "t", "expires_days": 1}
    ).json()
    token = issued["token"]
    assert unit.client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with unit.service.context.db.transaction() as session:  # a day passes
        row = session.get(ApiToken, issued["id"])
        assert row is not None
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert "expired" in unauthenticated(unit, bearer(token))

    disabled = unit.call("supervisor", "POST", "/users/aud-green/disable")
    assert disabled.status_code == 200, disabled.text
    # Disabling ends the account's API tokens, and they stay ended once it is enabled again.
    assert "revoked" in unauthenticated(unit, unit.auth("auditor"))
    assert unit.call("supervisor", "POST", "/users/aud-green/enable").status_code == 200
    assert "revoked" in unauthenticated(unit, unit.auth("auditor"))
    _, unit.tokens["auditor"] = unit.service.tokens.create_api_token(
        unit.users["auditor"], "aud-green", "auditor tests, again"
    )
    assert unit.call("auditor", "GET", "/me").status_code == 200


def test_only_the_account_s_own_person_issues_its_tokens(unit: ApiUnit) -> None:
    body = {"username": "ex-smith", "name": "mine"}
    before = unit.call("auditor", "GET", "/ledger/entries", params={"action": "access.denied"})
    for who in ("supervisor", "admin"):  # an admin included: a token acts as its person
        details = error_of(unit.call(who, "POST", "/tokens", json=body), 403, "permission_denied")
        assert details["username"] == "ex-smith"
    after = unit.call("auditor", "GET", "/ledger/entries", params={"action": "access.denied"})
    assert after.json()["total"] == before.json()["total"] + 2  # each refusal recorded (R18)
    created = unit.call(
        "admin",
        "POST",
        "/users",
        json={
            "username": "new-examiner",
            "display_name": "New Examiner",
            "agency": "ma-state-police",
            "roles": ["examiner"],
            "password": PASSWORD,
        },
    )
    assert created.status_code == 201 and created.json()["approved"] is False
    pending = {"username": "new-examiner", "name": "too early"}
    error_of(unit.call("admin", "POST", "/tokens", json=pending), 403, "permission_denied")
    error_of(
        unit.call("admin", "POST", "/tokens", json={**body, "username": "ghost"}), 404, "not_found"
    )


def test_login_session(unit: ApiUnit) -> None:
    wrong = unit.call(None, "POST", "/auth/login", json={"username": "sup-brown", "password": "x"})
    error_of(wrong, 401, "unauthenticated")
    login = unit.call(
        None, "POST", "/auth/login", json={"username": "sup-brown", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["token_type"] == "bearer" and session["expires_in"] == 12 * 3600
    me = unit.client.get("/api/v1/me", headers=bearer(session["token"]))
    assert me.status_code == 200 and me.json()["username"] == "sup-brown"

    # Logout ends sessions only; an API token is revoked instead.
    error_of(unit.call("supervisor", "POST", "/auth/logout"), 400, "invalid_input")
    out = unit.client.post("/api/v1/auth/logout", headers=bearer(session["token"]))
    assert out.status_code == 204 and out.content == b""
    assert "ended" in unauthenticated(unit, bearer(session["token"]))
    actions = unit.call("auditor", "GET", "/ledger/entries", params={"object_id": "sup-brown"})
    assert {"auth.login_failed", "auth.login", "auth.logout"} <= {
        e["action"] for e in actions.json()["items"]
    }
