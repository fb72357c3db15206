"""``GET /reports/transparency`` over the governed unit, served by a real uvicorn server: JSON,
CSV and HTML; refused for a requester (recorded); bad periods answer in the one error shape."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

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

    def get(self, who: str | None, **params: str) -> httpx.Response:
        headers = {}
        if who is not None:
            user = self.governed.who(who)
            _, token = self.governed.service.tokens.create_api_token(user, user.username, "t")
            headers["Authorization"] = f"Bearer {token}"
        return self.client.get(f"{API}/reports/transparency", params=params, headers=headers)


@pytest.fixture
def served(governed: Governed) -> Iterator[Served]:  # noqa: F811
    with serving(mounted(governed.service)) as client:
        yield Served(governed, client)


def test_the_auditor_gets_the_public_report_as_json(served: Served) -> None:
    response = served.get("aud", **PERIOD, public="true")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert data["format"] == "faceledger-transparency-report" and data["public"] is True
    assert data["period"] == PERIOD
    assert data["totals"]["searches"] == 4 and data["totals"]["requests"] == 8
    assert data["agencies"]["boston-pd"]["requests"] == 8


def test_csv_and_html_are_served(served: Served) -> None:
    response = served.get("sup", **PERIOD, format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    cell = {(r["agency"], r["metric"], r["category"]): r["value"] for r in rows}
    assert cell[("ALL", "searches", "")] == "4"
    page = served.get("aud", **PERIOD, public="true", format="html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Transparency report (R17), public version" in page.text
    assert page.text.count("data:image/png;base64,") == 3


def test_a_requester_is_refused_and_recorded(served: Served) -> None:
    before = served.governed.counts()["violations"]
    details = error_of(served.get("req_a", **PERIOD), 403, "permission_denied")
    assert details["action"] == "report.transparency"
    assert served.governed.counts()["violations"] == before + 1


def test_without_a_token_nothing_is_served(served: Served) -> None:
    assert served.get(None, **PERIOD).status_code == 401


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2025-12-31", "to": "2025-01-01"}, 400),
        ({"from": "yesterday", "to": "2025-01-01"}, 422),
        ({"to": "2025-01-01"}, 422),
        ({**PERIOD, "format": "pdf"}, 422),
    ],
)
def test_bad_queries_answer_in_the_error_shape(
    served: Served, params: dict[str, str], status: int
) -> None:
    response = served.get("aud", **params)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
