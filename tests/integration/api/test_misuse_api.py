"""``POST /misuse/scan`` and ``GET /misuse/findings`` over HTTP: supervisors and auditors only
(others 403, recorded), one page shape, a scan twice stores nothing twice.

The unit is a copy of the FAKE-enrolled gallery (tests/fakes.py) behind the real API: these
routes read the records, not faces; the probes are filed through the API with real photos."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceledger.governance.models import RequestRow, ViolationRow
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import FORM_FIELDS, ApiUnit, error_of, running_unit

CASE = "BPD-2026-0999"


@pytest.fixture(scope="module")
def unit(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUnit]:
    """One unit for the module, its tests in order."""
    data_dir = tmp_path_factory.mktemp("misuse-api") / "data"
    with running_unit(fake_enrolled_template, data_dir, faces_dir, fake_pipeline()) as api:
        yield api


def violations(unit: ApiUnit) -> int:
    with unit.service.context.db.read() as session:
        return session.scalar(select(func.count()).select_from(ViolationRow)) or 0


@pytest.mark.parametrize("who", ["requester", "examiner", "reviewer", "admin"])
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/misuse/scan"), ("GET", "/misuse/findings")]
)
def test_others_are_refused_and_recorded(unit: ApiUnit, who: str, method: str, path: str) -> None:
    before = violations(unit)
    details = error_of(unit.call(who, method, path), 403, "permission_denied")
    assert details["action"] == "report.misuse"
    assert violations(unit) == before + 1


def test_without_a_token_it_is_401(unit: ApiUnit) -> None:
    assert unit.call(None, "POST", "/misuse/scan").status_code == 401
    assert unit.call(None, "GET", "/misuse/findings").status_code == 401


def test_a_scan_stores_findings_once_and_lists_them(unit: ApiUnit) -> None:
    ids = []
    for _ in range(4):
        response = unit.file("requester", {**FORM_FIELDS, "case_number": CASE})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    # Set-up: filed on four mornings (11:00 in Boston), so the time of the test run is moot.
    with unit.service.context.db.transaction() as session:
        for n, rid in enumerate(ids):
            row = session.get(RequestRow, rid)
            assert row is not None
            day = dt.datetime.now(dt.UTC) - dt.timedelta(days=n + 1)
            row.created_at = day.replace(hour=15, minute=0, second=0, microsecond=0)

    scanned = unit.call("auditor", "POST", "/misuse/scan")
    assert scanned.status_code == 200, scanned.text
    body = scanned.json()
    assert body["records"] == 4 and body["total"] == 1 and body["found"] == 1
    [finding] = body["new"]
    assert finding["rule"] == "searches_per_case"
    assert finding["request_ids"] == sorted(ids)
    assert (
        f"4 search requests filed under case number {CASE} of boston-pd" in (finding["explanation"])
    )

    again = unit.call("supervisor", "POST", "/misuse/scan").json()
    assert again["new"] == [] and again["total"] == 1

    page = unit.call("supervisor", "GET", "/misuse/findings", params={"limit": 10})
    assert page.status_code == 200
    assert page.json() == {"items": [finding], "total": 1, "limit": 10, "offset": 0}
    other = unit.call("auditor", "GET", "/misuse/findings", params={"rule": "probe_cases"})
    assert other.json()["items"] == [] and other.json()["total"] == 0
    bad = unit.call("auditor", "GET", "/misuse/findings", params={"rule": "bogus"})
    assert error_of(bad, 400, "invalid_input") == {"field": "rule"}
    assert bad.json()["error"]["message"].startswith("There is no misuse rule 'bogus'")
