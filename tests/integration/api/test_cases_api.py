"""``GET /cases`` and ``GET /cases.csv`` over HTTP on the governed unit's hand-built history:
the warrant question as one query string, repeated parameters, pages, sight, CSV downloads,
and bad filters (422, nothing recorded).

The unit is the governed one of tests/integration/governance (a FAKE face pipeline, the real
service) behind the real API, served by uvicorn; each persona calls with its own API token."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from faceledger.service.case_queries import CSV_COLUMNS
from tests.factories import PASSWORD
from tests.integration.api.conftest import API, error_of, mounted, serving
from tests.integration.governance.case_history import FORMULA_CASE, History, history_unit
from tests.integration.governance.conftest import (  # noqa: F401 (fixture)
    UNIT,
    Governed,
    governed_template,
)

WARRANTS = {"lead_use": "warrant", "searched_since": "2026-01-01"}
ROW_FIELDS = {
    "id",
    "case_number",
    "agency",
    "requester",
    "offence_code",
    "offence_class",
    "legal_basis_kind",
    "legal_basis_ids",
    "state",
    "outcome",
    "disclosure_status",
    "filed_at",
    "searched_at",
    "operator",
    "first_reviewer",
    "peer_reviewer",
    "candidate_count",
    "released_count",
    "lead_uses",
}


@dataclass
class Api:
    """The history behind the API, and an API token per persona."""

    unit: Governed
    history: History
    client: httpx.Client
    tokens: dict[str, str]

    def get(self, who: str | None, path: str, params: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.get(API + path, params=params, headers=headers)


@pytest.fixture(scope="module")
def api(
    governed_template: tuple[Path, dict[str, str], dict[str, int]],  # noqa: F811
    faces_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    with history_unit(governed_template, faces_dir, tmp_path_factory.mktemp("cases-api")) as made:
        unit, history = made
        s = unit.service
        s.accounts.create_user(unit.who("admin"), "adm-only", "Adm", UNIT, ["admin"], PASSWORD)
        unit.people["adm_only"] = s.accounts.approve_user(unit.who("sup"), "adm-only")
        tokens = {
            who: s.tokens.create_api_token(unit.who(who), unit.who(who).username, "cases")[1]
            for who in ("aud", "req_a", "ex1", "adm_only")
        }
        with serving(mounted(s)) as client:
            yield Api(unit, history, client, tokens)


def test_the_warrant_question_is_one_query_string(api: Api) -> None:
    response = api.get("aud", "/cases", WARRANTS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert body["total"] == 1 and body["limit"] == 50 and body["offset"] == 0
    [row] = body["items"]
    assert set(row) == ROW_FIELDS
    assert row["id"] == api.history.warrant_after
    assert row["searched_at"] == "2026-01-01T00:00:00+00:00"
    assert [u["kind"] for u in row["lead_uses"]] == ["warrant", "arrest"]
    assert set(row["lead_uses"][0]) == {"kind", "corroboration_ref", "at"}
    assert (row["first_reviewer"], row["peer_reviewer"]) == ("ex-two", "rev-one")


def test_lists_are_repeated_parameters_and_pages_page(api: Api) -> None:
    params = [("lead_use", "warrant"), ("lead_use", "further_investigation")]
    found = api.get("aud", "/cases", params).json()
    assert found["total"] == 3
    expected = sorted(
        [api.history.warrant_after, api.history.warrant_before, api.history.lead_only],
        reverse=True,
    )
    assert [r["id"] for r in found["items"]] == expected
    page = api.get("aud", "/cases", [*params, ("limit", "1"), ("offset", "1")]).json()
    assert [r["id"] for r in page["items"]] == expected[1:2] and page["total"] == 3


def test_a_filter_never_widens_sight(api: Api) -> None:
    assert api.get("req_a", "/cases", {"agency": "cambridge-pd"}).json()["total"] == 0
    mine = api.get("req_a", "/cases").json()
    assert mine["total"] == 9 and {r["agency"] for r in mine["items"]} == {"boston-pd"}
    assert api.get("ex1", "/cases", {"state": "denied"}).json()["total"] == 0


def test_roles_without_request_read_are_refused(api: Api) -> None:
    for path in ("/cases", "/cases.csv"):
        details = error_of(api.get("adm_only", path), 403, "permission_denied")
        assert details["action"] == "request.read"
        error_of(api.get(None, path), 401, "unauthenticated")


def test_the_csv_download_has_every_match(api: Api) -> None:
    response = api.get("aud", "/cases.csv", {"state": ["released", "approved"]})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-total-count"] == "5"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 6
    cases = {r[1] for r in rows[1:]}
    assert "'" + FORMULA_CASE in cases and FORMULA_CASE not in cases
    lead_uses = {int(r[0]): r[CSV_COLUMNS.index("lead_uses")] for r in rows[1:]}
    assert lead_uses[api.history.warrant_after] == "warrant; arrest"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/cases", {"state": "nope"}, "state"),
        ("/cases", {"lead_use": "lineup"}, "lead_use"),
        ("/cases", {"searched_since": "2026-13-01"}, "searched_since"),
        ("/cases", {"filed_since": "2026-02-01", "filed_until": "2026-01-01"}, "filed_until"),
        ("/cases", {"examiner": "Ex One"}, "examiner"),
        ("/cases", {"since": "2026-01-01"}, "since"),
        ("/cases.csv", {"limit": "5"}, "limit"),
        ("/cases.csv", {"searched_until": "tomorrow"}, "searched_until"),
    ],
)
def test_a_bad_filter_is_422_and_records_nothing(
    api: Api, path: str, params: dict[str, str], field: str
) -> None:
    before = api.unit.counts()
    response = api.get("aud", path, params)
    details = error_of(response, 422, "invalid_input")
    named = [f["field"] for f in details.get("fields", [])] or [details.get("field")]
    assert any(field in str(n) for n in named), details
    assert api.unit.counts() == before
