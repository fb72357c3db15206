"""Case queries over the governed unit's hand-built history (case_history.py): every filter,
the caller's sight (a filter only narrows it), reviewers as the request view shows them, and
the CSV export, all read-only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faceledger.errors import InvalidInput, PermissionDenied
from faceledger.governance.case_filters import CaseFilter, InvalidFilter
from faceledger.service.case_queries import CSV_COLUMNS, CaseQueryUseCases, safe_cell
from tests.factories import PASSWORD
from tests.integration.governance.case_history import (
    ARREST_REF,
    FORMULA_CASE,
    WARRANT_REF,
    History,
    history_unit,
)
from tests.integration.governance.conftest import UNIT, Governed


@pytest.fixture(scope="module")
def unit(
    governed_template: tuple[Path, dict[str, str], dict[str, int]],
    faces_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Governed, History]]:
    """The history, built once: these tests only read it (refusals add violations)."""
    with history_unit(governed_template, faces_dir, tmp_path_factory.mktemp("cases")) as made:
        yield made


@pytest.fixture
def governed(unit: tuple[Governed, History]) -> Governed:
    return unit[0]


@pytest.fixture
def history(unit: tuple[Governed, History]) -> History:
    return unit[1]


def ids(g: Governed, who: str, **filters: Any) -> list[int]:
    page = g.service.cases.query(g.who(who), CaseFilter.parse(filters), limit=500)
    assert page.total == len(page.items)
    return [r.id for r in page.items]


def by_key(history: History) -> dict[str, int]:
    """Every request of the history by a name (peer_reviewed is warrant_before)."""
    return {
        **history.requests,
        "warrant_after": history.warrant_after,
        "warrant_before": history.warrant_before,
        "lead_only": history.lead_only,
        "cambridge": history.cambridge,
    }


def test_warrants_searched_since_2026_is_one_query(governed: Governed, history: History) -> None:
    spec = CaseFilter.parse({"lead_use": "warrant", "searched_since": "2026-01-01"})
    page = governed.service.cases.query(governed.who("aud"), spec)
    # Searched at 00:00:00 on the day counts; a second before it does not.
    assert [r.id for r in page.items] == [history.warrant_after] and page.total == 1
    assert page.description == "requests with a lead used for warrant, searched since 2026-01-01"
    [row] = page.items
    assert row.searched_at == "2026-01-01T00:00:00+00:00"
    assert [(u.kind, u.corroboration_ref) for u in row.lead_uses] == [
        ("warrant", WARRANT_REF),
        ("arrest", ARREST_REF),
    ]
    assert row.outcome == "arrest" and row.disclosure_status == "disclosed"

    assert ids(governed, "aud", lead_use="warrant", searched_until="2025-12-31") == [
        history.warrant_before
    ]
    both = ids(governed, "aud", lead_use="warrant")
    assert both == sorted([history.warrant_after, history.warrant_before], reverse=True)
    # Filed dates are another question: both warrant requests were filed in 2025.
    assert ids(governed, "aud", lead_use="warrant", filed_since="2026-01-01") == []


FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"state": "released"}, {"warrant_after", "warrant_before", "lead_only"}),
    ({"state": ["approved", "denied"]}, {"approved", "denied", "cambridge"}),
    ({"agency": "cambridge-pd"}, {"cambridge"}),
    ({"agency": ["cambridge-pd", "no-such-agency"]}, {"cambridge"}),
    ({"offence": "larceny_over_1200"}, {"lead_only"}),
    ({"offence_class": "misdemeanour"}, {"denied"}),
    ({"basis": "emergency"}, {"emergency_submitted", "emergency_approved"}),
    ({"outcome": "arrest"}, {"warrant_after"}),
    ({"outcome": ["warrant", "denied"]}, {"warrant_before", "denied"}),
    ({"lead_use": ["further_investigation", "arrest"]}, {"warrant_after", "lead_only"}),
    ({"lead_use": "photo_lineup"}, set()),
    (
        {"examiner": "ex-one"},
        {"searched", "reviewed", "warrant_before", "warrant_after", "lead_only"},
    ),
    ({"examiner": "ex-two"}, set()),
    ({"reviewer": "rev-one"}, {"warrant_before", "warrant_after", "lead_only"}),
    ({"reviewer": "ex-two"}, {"reviewed", "warrant_before", "warrant_after", "lead_only"}),
    ({"requester": "det-a2"}, {"lead_only"}),
    ({"requester": "nobody"}, set()),
    ({"case": FORMULA_CASE}, {"cambridge"}),
    ({"disclosure": "disclosed"}, {"warrant_after"}),
    ({"filed_since": "2025-12-31", "filed_until": "2025-12-31"}, {"warrant_after"}),
    ({"filed_until": "2025-12-30"}, {"warrant_before"}),
    (
        {"searched_since": "2026-01-01", "searched_until": "2026-02-28"},
        {"warrant_after", "lead_only"},
    ),
    ({"state": "released", "requester": "det-a", "outcome": "warrant"}, {"warrant_before"}),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERS, ids=[str(f) for f, _ in FILTERS])
def test_each_filter_narrows_the_auditors_view(
    governed: Governed, history: History, filters: dict[str, Any], expected: set[str]
) -> None:
    known = by_key(history)
    assert set(ids(governed, "aud", **filters)) == {known[k] for k in expected}


def test_no_filter_lists_everything_in_sight_newest_first(
    governed: Governed, history: History
) -> None:
    everything = ids(governed, "aud")
    assert everything == sorted(set(by_key(history).values()), reverse=True)
    page = governed.service.cases.query(governed.who("aud"), CaseFilter(), limit=3, offset=3)
    assert [r.id for r in page.items] == everything[3:6] and page.total == len(everything)
    assert page.description == "all requests"


def test_a_filter_never_widens_the_callers_sight(governed: Governed, history: History) -> None:
    boston = set(by_key(history).values()) - {history.cambridge}
    assert set(ids(governed, "req_a")) == boston
    assert ids(governed, "req_a", agency="cambridge-pd") == []
    assert ids(governed, "req_a", case=FORMULA_CASE) == []
    assert ids(governed, "req_b") == [history.cambridge]
    assert ids(governed, "req_b", agency="boston-pd") == []
    # Examiners see requests past approval only: not the pending emergency or the denial.
    pending = {history.requests["emergency_submitted"], history.requests["denied"]}
    assert set(ids(governed, "ex1")) == set(by_key(history).values()) - pending
    assert ids(governed, "ex1", state=["submitted", "denied"]) == []


def test_roles_that_read_no_request_are_refused_and_recorded(
    governed: Governed, history: History
) -> None:
    accounts = governed.service.accounts
    accounts.create_user(governed.who("admin"), "adm-only", "Adm", UNIT, ["admin"], PASSWORD)
    admin = accounts.approve_user(governed.who("sup"), "adm-only")
    before = governed.counts()["violations"]
    with pytest.raises(PermissionDenied):
        governed.service.cases.query(admin, CaseFilter())
    with pytest.raises(PermissionDenied):
        governed.service.cases.export(admin, CaseFilter())
    assert governed.counts()["violations"] == before + 2
    # An examiner outside the operating unit may read requests, but sees none.
    assert ids(governed, "ex_out") == []


def test_reviewers_are_shown_as_the_request_view_shows_them(
    governed: Governed, history: History
) -> None:
    reviewed = history.requests["reviewed"]

    def reviewers(who: str, rid: int) -> tuple[str | None, str | None]:
        page = governed.service.cases.query(governed.who(who), CaseFilter(), limit=500)
        [row] = [r for r in page.items if r.id == rid]
        return row.first_reviewer, row.peer_reviewer

    assert reviewers("aud", history.warrant_after) == ("ex-two", "rev-one")
    # A requester sees no reviews, and may not find requests by their reviewers.
    assert reviewers("req_a", history.warrant_after) == (None, None)
    assert ids(governed, "req_a", reviewer="ex-two") == []
    # rev-one could still peer-review the reviewed request: its first review stays hidden
    # (R10), in the row and from a reviewer filter; its operator may know it.
    assert reviewers("rev", reviewed) == (None, None)
    assert reviewed not in ids(governed, "rev", reviewer="ex-two")
    assert reviewers("ex1", reviewed) == ("ex-two", None)
    assert reviewed in ids(governed, "ex1", reviewer="ex-two")
    assert reviewed in ids(governed, "ex2", reviewer="ex-two")


def test_rows_carry_what_r12_keeps(governed: Governed, history: History) -> None:
    page = governed.service.cases.query(governed.who("aud"), CaseFilter(), limit=500)
    rows = {r.id: r for r in page.items}
    lead = rows[history.lead_only]
    assert (lead.case_number, lead.agency, lead.requester) == ("GOV-lead", "boston-pd", "det-a2")
    assert (lead.offence_code, lead.offence_class) == ("larceny_over_1200", "felony")
    assert lead.legal_basis_kind == "court_order"
    assert lead.legal_basis_ids == {"court": "Suffolk Superior Court", "order_id": "SUCR-2026-1"}
    assert lead.state == "released" and lead.outcome == "further_investigation"
    assert lead.filed_at == "2026-01-31T12:00:00+00:00"
    assert lead.operator == "ex-one" and lead.candidate_count == 3
    assert 1 <= lead.released_count <= 3
    approved = rows[history.requests["approved"]]
    assert approved.searched_at is None and approved.candidate_count is None
    assert approved.operator is None and approved.lead_uses == ()


def test_bad_paging_is_refused(governed: Governed) -> None:
    with pytest.raises(InvalidInput):
        governed.service.cases.query(governed.who("aud"), CaseFilter(), limit=0)
    with pytest.raises(InvalidInput):
        governed.service.cases.query(governed.who("aud"), CaseFilter(), offset=-1)


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_export_is_csv_of_every_match(governed: Governed, history: History) -> None:
    export = governed.service.cases.export(governed.who("aud"), CaseFilter())
    rows = read_csv("".join(export.chunks()))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) - 1 == export.total == len(set(by_key(history).values())) == 10
    column = {name: i for i, name in enumerate(CSV_COLUMNS)}
    found = {int(r[0]): r for r in rows[1:]}
    after = found[history.warrant_after]
    assert after[column["lead_uses"]] == "warrant; arrest"
    assert after[column["lead_use_corroboration"]] == f"{WARRANT_REF}; {ARREST_REF}"
    assert after[column["searched_at"]] == "2026-01-01T00:00:00+00:00"
    assert (
        after[column["legal_basis_ids"]] == "court: Suffolk Superior Court; order_id: SUCR-2026-1"
    )
    assert after[column["first_reviewer"]] == "ex-two"
    # The case number shaped like a formula is text, not a formula.
    assert found[history.cambridge][column["case_number"]] == "'" + FORMULA_CASE


def test_the_export_reads_in_pages_and_misses_none(governed: Governed, history: History) -> None:
    small = CaseQueryUseCases(governed.service.context, governed.service.access, export_page=3)
    spec = CaseFilter.parse({"state": ["released", "approved", "searched", "denied"]})
    out = io.StringIO()
    written = small.export(governed.who("aud"), spec).write(out)
    listed = [int(r[0]) for r in read_csv(out.getvalue())[1:]]
    assert listed == ids(governed, "aud", state=["released", "approved", "searched", "denied"])
    assert written == len(listed) == 7


def test_an_export_over_the_cap_is_refused_before_any_row(
    governed: Governed, history: History
) -> None:
    capped = CaseQueryUseCases(governed.service.context, governed.service.access, max_export_rows=9)
    with pytest.raises(InvalidFilter, match="matches 10 requests; an export holds at most 9"):
        capped.export(governed.who("aud"), CaseFilter())
    assert capped.export(governed.who("aud"), CaseFilter.parse({"state": "released"})).total == 3


def test_queries_and_exports_write_nothing(governed: Governed, history: History) -> None:
    before = governed.counts()
    spec = CaseFilter.parse({"lead_use": "warrant"})
    governed.service.cases.query(governed.who("aud"), spec)
    "".join(governed.service.cases.export(governed.who("req_a"), spec).chunks())
    assert governed.counts() == before


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("BPD-1", "BPD-1"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_quoted(cell: str, safe: str) -> None:
    assert safe_cell(cell) == safe
