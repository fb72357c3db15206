"""The alert routes (R18): the inbox, its count, and acknowledging with a note, over a real
uvicorn server. A blank data directory is enough: alerts come from refused calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faceledger import FaceLedger
from tests.conftest import ACTOR, make_settings
from tests.integration.api.conftest import ApiUnit, error_of, running_unit


@pytest.fixture(scope="module")
def unit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiUnit]:
    """The API over a blank data directory with the unit's people."""
    root = tmp_path_factory.mktemp("alerts-api")
    template = root / "template"
    FaceLedger.initialise(make_settings(template), ACTOR.ledger_actor).close()
    with running_unit(template, root / "data", Path(".")) as api:
        yield api


def raise_alert(unit: ApiUnit) -> dict[str, object]:
    """A requester asks for the alerts (refused: an alert is raised); return that alert."""
    error_of(unit.call("requester", "GET", "/alerts"), 403, "permission_denied")
    page = unit.call("supervisor", "GET", "/alerts", params={"limit": 1}).json()
    alert: dict[str, object] = page["items"][0]
    return alert


def test_a_refused_call_raises_an_alert_that_supervisors_and_auditors_list(unit: ApiUnit) -> None:
    alert = raise_alert(unit)
    assert alert["source"] == "violation" and alert["acknowledged"] is False
    assert "alerts.read" in str(alert["reason"]) and alert["deliveries"] == []
    for who in ("supervisor", "auditor"):
        page = unit.call(who, "GET", "/alerts", params={"open": "true"}).json()
        assert set(page) == {"items", "total", "limit", "offset"}
        assert alert["id"] in [a["id"] for a in page["items"]]
        assert all(a["acknowledged"] is False for a in page["items"])


@pytest.mark.parametrize("who", ["requester", "examiner", "reviewer", "admin"])
def test_others_may_not_list_alerts(unit: ApiUnit, who: str) -> None:
    error_of(unit.call(who, "GET", "/alerts"), 403, "permission_denied")


def test_the_count_is_the_open_alerts_and_zero_for_other_roles(unit: ApiUnit) -> None:
    raise_alert(unit)
    count = unit.call("auditor", "GET", "/alerts/count").json()["open"]
    _, total = unit.service.alerts.list_alerts(unit.users["auditor"], open_only=True)
    assert count == total >= 1
    size = unit.ledger_size()
    for who in ("requester", "examiner", "admin"):
        assert unit.call(who, "GET", "/alerts/count").json() == {"open": 0}
    assert unit.ledger_size() == size  # asking is never a recorded refusal
    error_of(unit.call(None, "GET", "/alerts/count"), 401, "unauthenticated")


def test_acknowledging_records_the_note_and_a_second_time_is_409(unit: ApiUnit) -> None:
    alert = raise_alert(unit)
    path = f"/alerts/{alert['id']}/ack"
    size = unit.ledger_size()

    done = unit.call("auditor", "POST", path, json={"note": "Reminded the officer."})

    assert done.status_code == 200, done.text
    body = done.json()
    assert body["acknowledged"] is True and body["ack_note"] == "Reminded the officer."
    assert body["acknowledged_by"] == "aud-green"
    assert unit.ledger_size() == size + 1
    with unit.service.context.db.read() as session:
        [entry] = unit.service.context.ledger.query(session, offset=size, limit=1)
    assert entry.action == "alert.ack" and entry.seq == body["ack_ledger_seq"]
    assert entry.payload["note"] == "Reminded the officer."
    details = error_of(
        unit.call("supervisor", "POST", path, json={"note": "again"}), 409, "conflict"
    )
    assert details == {"alert_id": alert["id"]}
    assert unit.ledger_size() == size + 1


def test_acknowledging_needs_the_role_a_note_and_a_known_alert(unit: ApiUnit) -> None:
    alert = raise_alert(unit)
    path = f"/alerts/{alert['id']}/ack"
    error_of(unit.call("requester", "POST", path, json={"note": "x"}), 403, "permission_denied")
    error_of(unit.call("supervisor", "POST", path, json={}), 422, "invalid_input")
    error_of(unit.call("supervisor", "POST", path, json={"note": ""}), 422, "invalid_input")
    error_of(unit.call("supervisor", "POST", path, json={"note": "x" * 2001}), 422, "invalid_input")
    details = error_of(
        unit.call("supervisor", "POST", path, json={"note": "   "}), 400, "invalid_input"
    )
    assert details == {"field": "note"}
    error_of(
        unit.call("supervisor", "POST", path, json={"note": "x", "extra": 1}), 422, "invalid_input"
    )
    error_of(
        unit.call("supervisor", "POST", "/alerts/99999/ack", json={"note": "x"}), 404, "not_found"
    )
    error_of(unit.call(None, "POST", path, json={"note": "x"}), 401, "unauthenticated")
    still = unit.call("supervisor", "GET", "/alerts", params={"open": "true"}).json()
    assert alert["id"] in [a["id"] for a in still["items"]]


def test_the_routes_are_in_the_openapi_document(unit: ApiUnit) -> None:
    paths = unit.call(None, "GET", "/openapi.json").json()["paths"]
    assert set(paths["/alerts"]) == {"get"}
    assert set(paths["/alerts/count"]) == {"get"}
    assert set(paths["/alerts/{alert_id}/ack"]) == {"post"}
