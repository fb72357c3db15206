"""The report's two versions and its JSON: public hides small cells (none recoverable, across
tables too), internal shows every count; totals are exact in both."""

from __future__ import annotations

import datetime as dt

import pytest

from faceledger.reports.transparency import (
    REPORT_FORMAT,
    Hidden,
    Period,
    TransparencyReport,
    build_report,
)
from faceledger.reports.transparency.report import public_cells

from .synthetic import History, history
from .test_counts import PERIOD, REQUESTS, VIOLATIONS
from .test_suppression import recoverable

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def report(public: bool, requests=REQUESTS, violations=VIOLATIONS) -> TransparencyReport:  # type: ignore[no-untyped-def]
    return build_report(
        requests,
        violations,
        PERIOD,
        public=public,
        small_cell_min=5,
        profile="massachusetts",
        source="records",
        generated_at=NOW,
    )


@pytest.fixture(scope="module")
def synthetic() -> History:
    return history(1500, seed=3)


def test_the_json_names_its_format_period_version_and_totals() -> None:
    data = report(public=True).to_dict()
    assert data["format"] == REPORT_FORMAT and data["version"] == 1
    assert data["period"] == {"from": "2025-01-01", "to": "2025-12-31"}
    assert (data["public"], data["small_cell_min"], data["profile"], data["source"]) == (
        True,
        5,
        "massachusetts",
        "records",
    )
    assert data["totals"]["searches"] == 4
    assert data["totals"]["requests"] == 6
    assert data["totals"]["candidates"] == 12
    assert data["totals"]["legal_basis"]["court_order"] == 4
    assert set(data["agencies"]) == {"boston-pd", "cambridge-pd", "unattributed"}
    assert "Counts from 1 to 4" in data["suppression"]["rule"]


def test_public_cells_below_the_minimum_are_marked_and_zeros_shown() -> None:
    data = report(public=True).to_dict()
    boston = data["agencies"]["boston-pd"]
    assert data["agencies"]["cambridge-pd"]["requests"] == {
        "suppressed": True,
        "reason": "small_cell",
    }
    # Cambridge's one request is its one lead, and no other agency has a lead: the exact total
    # of leads gives it away whatever is hidden, so Boston's 5 stays shown and the report says
    # how many hidden cells the totals expose.
    assert boston["requests"] == 5
    assert data["suppression"]["exposed_cells"] > 0
    assert boston["legal_basis"]["deceased_or_incapacitated"] == 0
    assert boston["emergency_filings"]["late"]["suppressed"] is True
    # Violations appear by agency as one count, by kind only in the exact totals.
    assert "violation_kinds" not in boston
    assert data["totals"]["violation_kinds"]["late_emergency_filing"] == 1


def test_the_internal_version_is_exact_and_adds_violations_by_kind() -> None:
    data = report(public=False).to_dict()
    boston = data["agencies"]["boston-pd"]
    assert boston["requests"] == 5
    assert boston["violation_kinds"]["denied_action"] == 1
    assert "suppression" not in data


def test_totals_are_the_same_in_both_versions() -> None:
    assert report(public=True).to_dict()["totals"] == report(public=False).to_dict()["totals"]


def test_cells_read_as_counts_or_markers() -> None:
    public = report(public=True)
    assert isinstance(public.cell("requests", "cambridge-pd"), Hidden)
    assert public.shown(public.cell("requests", "cambridge-pd")) == "<5"
    assert public.shown(Hidden("complementary")) == "suppressed"
    assert report(public=False).cell("requests", "boston-pd") == 5


def test_no_hidden_cell_of_a_realistic_report_is_recoverable(synthetic: History) -> None:
    # Across tables: the request-splitting tables share each agency's request count.
    public = report(True, synthetic.requests, synthetic.violations)
    assert public.suppression is not None
    values, relations = public_cells(public.counts)
    hidden = set(public.suppression.hidden)
    assert public.suppression.primary == {k for k, v in values.items() if 0 < v < 5}
    assert len(hidden) > len(public.suppression.primary)  # some complementary cells
    assert recoverable(values, relations, hidden) <= public.suppression.exposed
    data = public.to_dict()
    assert data["suppression"]["small_cells"] == len(public.suppression.primary)
    assert data["totals"]["requests"] == len(synthetic.requests)


def test_a_period_with_nothing_in_it_has_zero_totals() -> None:
    empty = build_report(
        REQUESTS,
        VIOLATIONS,
        Period(dt.date(2031, 1, 1), dt.date(2031, 12, 31)),
        public=True,
        small_cell_min=5,
        profile="massachusetts",
        source="records",
        generated_at=NOW,
    ).to_dict()
    assert empty["agencies"] == {}
    assert empty["totals"]["requests"] == empty["totals"]["searches"] == 0
