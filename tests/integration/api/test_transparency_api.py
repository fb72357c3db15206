"""``POST /reports/transparency`` over the governed unit, served by a real uvicorn server: JSON,
CSV and HTML; refused for a requester (recorded); bad periods answer in the one error shape;
producing a report is recorded, so a GET of the path is a 405 that writes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.integration.api.conftest import API, error_of, mounted, serving
from tests.integration.governance.conftest import (  # noqa: F401 (fixtures)
    Governed,
    governed,
    governed_template,
)

TODAY = dt.datetime.now(dt.UTC).date()
PERIOD = {"from": (TODAY - dt.timedelta(days=1)).isoformat(), "to": TODAY.isoformat()}


@dataclass
class Served:
    """The governed unit behind its API, with a token per persona asked for."""

    governed: Governed
    client: httpx.Client
    tokens: dict[str, str] = field(default_factory=dict)

    def post(self, who: str | None, body: dict[str, Any], fmt: str | None = None) -> httpx.Response:
        """Produce a report as ``who`` (None: without a token): the period and version in the
        JSON ``body``, the ``format`` as a query parameter if given."""
        params = {} if fmt is None else {"format": fmt}
        return self.client.post(
            f"{API}/reports/transparency", json=body, params=params, headers=self.auth(who)
        )

    def auth(self, who: str | None) -> dict[str, str]:
        """The Authorization header of ``who``'s token, minted (and recorded) the first time;
        none for None."""
        if who is None:
            return {}
        if who not in self.tokens:
            user = self.governed.who(who)
            _, self.tokens[who] = self.governed.service.tokens.create_api_token(
                user, user.username, "t"
            )
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def served(governed: Governed) -> Iterator[Served]:  # noqa: F811
    with serving(mounted(governed.service)) as client:
        yield Served(governed, client)


def test_the_auditor_gets_the_public_report_as_json(served: Served) -> None:
    response = served.post("aud", {**PERIOD, "public": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert data["format"] == "faceledger-transparency-report" and data["public"] is True
    assert data["period"] == PERIOD
    assert data["totals"]["searches"] == 4 and data["totals"]["requests"] == 8
    assert data["agencies"]["boston-pd"]["requests"] == 8


def test_csv_and_html_are_served(served: Served) -> None:
    response = served.post("sup", PERIOD, fmt="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    cell = {(r["agency"], r["metric"], r["category"]): r["value"] for r in rows}
    assert cell[("ALL", "searches", "")] == "4"
    page = served.post("aud", {**PERIOD, "public": True}, fmt="html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Transparency report (R17), public version" in page.text
    assert page.text.count("data:image/png;base64,") == 3


def test_a_requester_is_refused_and_recorded(served: Served) -> None:
    before = served.governed.counts()["violations"]
    details = error_of(served.post("req_a", PERIOD), 403, "permission_denied")
    assert details["action"] == "report.transparency"
    assert served.governed.counts()["violations"] == before + 1


def test_without_a_token_nothing_is_served(served: Served) -> None:
    assert served.post(None, PERIOD).status_code == 401


@pytest.mark.parametrize(
    ("body", "fmt", "status", "field"),
    [
        ({"from": "2025-12-31", "to": "2025-01-01"}, None, 400, None),
        ({"from": "yesterday", "to": "2025-01-01"}, None, 422, "body.from"),
        ({"from": "0", "to": "2025-01-01"}, None, 422, "body.from"),
        ({"to": "2025-01-01"}, None, 422, "body.from"),
        ({**PERIOD, "start": "2025-01-01"}, None, 422, "body.start"),
        (PERIOD, "pdf", 422, "query.format"),
    ],
)
def test_bad_queries_answer_in_the_error_shape(
    served: Served, body: dict[str, str], fmt: str | None, status: int, field: str | None
) -> None:
    served.auth("aud")  # minting the token is recorded: done before counting
    before = served.governed.counts()
    response = served.post("aud", body, fmt)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    if field is not None:
        fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
        assert field in fields, fields
    assert served.governed.counts() == before  # no report was produced, so none recorded


def test_a_get_is_refused_and_writes_nothing_and_the_post_records_once(served: Served) -> None:
    """Issue 13 item 5: producing a report is recorded, so it is a POST; a GET of the path,
    with or without a period, is a 405 naming POST and changes nothing."""
    headers = served.auth("aud")  # minting the token is recorded: done before counting
    before = served.governed.counts()
    for params in ({}, {**PERIOD, "public": "true", "format": "csv"}):
        got = served.client.get(f"{API}/reports/transparency", params=params, headers=headers)
        error_of(got, 405, "method_not_allowed")
        assert got.headers["allow"] == "POST"
        assert "allowed: POST" in got.json()["error"]["message"]
    assert served.governed.counts() == before
    made = served.client.post(
        f"{API}/reports/transparency", json={**PERIOD, "public": True}, headers=headers
    )
    assert made.status_code == 200, made.text
    after = served.governed.counts()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"ledger": 1}
    [entry] = served.governed.last_entries(1)
    assert entry.action == "report.transparency"
    assert entry.object_id == f"transparency:{PERIOD['from']}:{PERIOD['to']}"
