"""The "Case queries" page over the governed unit's hand-built history, with plain HTTP: the
GET form of every filter, the sentence of what was asked, the results, the CSV link carrying
the same query, and bad filters shown on the form (nothing recorded)."""

from __future__ import annotations

import csv
import html
import io
import re
import secrets
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from faceledger.web import build_web
from tests.factories import PASSWORD
from tests.integration.governance.case_history import History, history_unit
from tests.integration.governance.conftest import (  # noqa: F401 (fixture)
    UNIT,
    Governed,
    governed_template,
)
from tests.integration.web.conftest import csrf_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

WARRANTS = "/cases?lead_use=warrant&searched_since=2026-01-01"
ROW = re.compile(r'data-testid="case-row" data-request-id="(\d+)"')


class Pages:
    """The web app over the history, one logged-in client per person."""

    def __init__(self, unit: Governed, history: History) -> None:
        self.unit, self.history = unit, history
        self.app = build_web(unit.service, secrets.token_bytes(32))
        self.clients: dict[str, TestClient] = {}

    def as_(self, username: str) -> TestClient:
        if username not in self.clients:
            client = TestClient(self.app, follow_redirects=False)
            token = csrf_of(client.get("/login").text)
            answer = client.post(
                "/login",
                data={"username": username, "password": PASSWORD, "csrf_token": token},
            )
            assert answer.status_code == 303, answer.text
            self.clients[username] = client
        return self.clients[username]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture(scope="module")
def pages(
    governed_template: tuple[Path, dict[str, str], dict[str, int]],  # noqa: F811
    faces_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pages]:
    with history_unit(governed_template, faces_dir, tmp_path_factory.mktemp("cases-web")) as made:
        unit, history = made
        s = unit.service
        s.accounts.create_user(unit.who("admin"), "adm-only", "Adm", UNIT, ["admin"], PASSWORD)
        s.accounts.approve_user(unit.who("sup"), "adm-only")
        made_pages = Pages(unit, history)
        yield made_pages
        made_pages.close()


def rows_of(text: str) -> list[int]:
    return [int(n) for n in ROW.findall(text)]


def test_the_warrant_question_is_one_page(pages: Pages) -> None:
    answer = pages.as_("aud-one").get(WARRANTS)
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert rows_of(text) == [pages.history.warrant_after]
    assert (
        "Requests with a lead used for warrant, searched since 2026-01-01: <strong>1</strong>"
        in text
    )
    # The form comes back filled in with what was asked.
    assert '<option value="warrant" selected>' in text
    assert 'name="searched_since" value="2026-01-01"' in text
    # The CSV link carries the same query, and downloads exactly those rows.
    link = re.search(r'href="(/cases\.csv[^"]*)" data-testid="download-csv"', text)
    assert link is not None
    href = html.unescape(link.group(1))
    assert href == "/cases.csv?lead_use=warrant&searched_since=2026-01-01"
    download = pages.as_("aud-one").get(href)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert [int(r[0]) for r in rows[1:]] == [pages.history.warrant_after]


def test_the_empty_form_lists_everything_in_sight(pages: Pages) -> None:
    text = pages.as_("aud-one").get("/cases").text
    assert len(rows_of(text)) == 10 and "All requests: <strong>10</strong>" in text
    for name in ("state", "agency", "offence", "offence_class", "basis", "lead_use", "outcome"):
        assert f'data-testid="filter-{name}"' in text
    assert 'href="/cases.csv"' in text
    mine = pages.as_("det-a").get("/cases?agency=cambridge-pd")
    assert mine.status_code == 200 and rows_of(mine.text) == []
    assert len(rows_of(pages.as_("det-a").get("/cases").text)) == 9


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("searched_since=2026-13-01", "searched_since must be a date (YYYY-MM-DD)"),
        ("filed_since=2026-02-01&filed_until=2026-01-01", "is before filed_since"),
        ("state=nope", "state must be one of"),
        ("since=2026-01-01", "Unknown filter since"),
    ],
)
def test_a_bad_filter_is_shown_on_the_form(pages: Pages, query: str, named: str) -> None:
    client = pages.as_("aud-one")
    before = pages.unit.counts()
    answer = client.get(f"/cases?{query}")
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert 'data-testid="error-message"' in text and named in text
    assert 'data-testid="case-filters"' in text and rows_of(text) == []
    assert pages.unit.counts() == before
    assert client.get(f"/cases.csv?{query}").status_code == 422


def test_the_page_is_for_those_who_may_read_requests(pages: Pages) -> None:
    assert pages.as_("adm-only").get("/cases").status_code == 403
    assert pages.as_("adm-only").get("/cases.csv").status_code == 403
    anonymous = TestClient(pages.app, follow_redirects=False)
    try:
        assert anonymous.get("/cases").status_code == 303
    finally:
        anonymous.close()
