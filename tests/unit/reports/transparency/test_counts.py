"""Counting a hand-built history by agency: every definition of R17, and the period's edges."""

from __future__ import annotations

import datetime as dt

import pytest

from faceledger.errors import InvalidInput
from faceledger.reports.transparency import (
    Counts,
    LeadUseFacts,
    Period,
    RequestFacts,
    ViolationFacts,
    count,
)

UTC = dt.UTC
PERIOD = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def at(month: int, day: int = 1, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=UTC)


BEFORE = dt.datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
AFTER = dt.datetime(2026, 1, 1, tzinfo=UTC)

REQUESTS = [
    # Boston: three court orders, one emergency, one denied.
    RequestFacts(
        "1",
        "boston-pd",
        at(1),
        "court_order",
        "felony",
        searched_at=at(1, 2),
        candidates=5,
        outcome="arrest",
        uses=(LeadUseFacts("further_investigation", False), LeadUseFacts("arrest", True)),
        described_sex="male",
        described_race="white",
    ),
    RequestFacts(
        "2",
        "boston-pd",
        at(2),
        "court_order",
        "felony",
        searched_at=at(2, 3),
        candidates=3,
        outcome="warrant",
        uses=(LeadUseFacts("warrant", True), LeadUseFacts("warrant", False)),
    ),
    RequestFacts(
        "3",
        "boston-pd",
        at(2, 15),
        "court_order",
        "",
        searched_at=AFTER,  # searched after the period: not a search of this period
        candidates=7,
    ),
    RequestFacts(
        "4",
        "boston-pd",
        at(3),
        "emergency",
        "violent_felony",
        emergency=True,
        filing="late",
        searched_at=at(3),
        candidates=0,
        outcome="no_lead",
    ),
    RequestFacts(
        "5",
        "boston-pd",
        at(4),
        "court_order",
        "misdemeanour",
        denied=True,
        denied_rules=("offence.allowed_class", "probe.source"),
        outcome="denied",
    ),
    # Cambridge: filed before the period but searched in it; one emergency overdue.
    RequestFacts(
        "6", "cambridge-pd", BEFORE, "court_order", "felony", searched_at=at(1, 1, 0), candidates=4
    ),
    RequestFacts(
        "7",
        "cambridge-pd",
        at(12, 31, 23),
        "emergency",
        "felony",
        emergency=True,
        filing="overdue",
        outcome="lead",
    ),
    RequestFacts("8", "cambridge-pd", AFTER, "court_order", "felony"),
]
VIOLATIONS = [
    ViolationFacts("denied_action", "boston-pd", at(5)),
    ViolationFacts("late_emergency_filing", "boston-pd", at(3)),
    ViolationFacts("overdue_emergency_filing", "cambridge-pd", at(12, 31)),
    ViolationFacts("forbidden_attempt", "", at(6)),  # the local operator
    ViolationFacts("denied_action", "cambridge-pd", AFTER),
]


@pytest.fixture(scope="module")
def counts() -> Counts:
    return count(REQUESTS, VIOLATIONS, PERIOD)


def test_agencies_are_those_with_any_count(counts: Counts) -> None:
    assert counts.agencies == ("boston-pd", "cambridge-pd", "unattributed")


def test_requests_searches_and_candidates_by_their_own_times(counts: Counts) -> None:
    assert counts.scalars["requests"] == {"boston-pd": 5, "cambridge-pd": 1, "unattributed": 0}
    # Request 3 was searched after the period; request 6 filed before it but searched in it.
    assert counts.scalars["searches"] == {"boston-pd": 3, "cambridge-pd": 1, "unattributed": 0}
    assert counts.scalars["candidates"] == {"boston-pd": 8, "cambridge-pd": 4, "unattributed": 0}
    assert counts.total("searches") == 4


def test_legal_basis_offence_class_and_description(counts: Counts) -> None:
    basis = counts.tables["legal_basis"]
    assert basis["boston-pd"] == {
        "court_order": 4,
        "emergency": 1,
        "deceased_or_incapacitated": 0,
        "investigation": 0,
    }
    assert basis["cambridge-pd"]["emergency"] == 1
    assert counts.categories["offence_class"] == (
        "felony",
        "misdemeanour",
        "none",
        "violent_felony",
    )
    assert counts.tables["offence_class"]["boston-pd"] == {
        "felony": 2,
        "misdemeanour": 1,
        "none": 1,
        "violent_felony": 1,
    }
    assert counts.tables["described_sex"]["boston-pd"]["male"] == 1
    assert counts.tables["described_sex"]["boston-pd"]["not_given"] == 4
    assert counts.tables["described_race"]["boston-pd"]["white"] == 1


def test_outcomes_split_by_corroboration(counts: Counts) -> None:
    boston = counts.tables["outcomes"]["boston-pd"]
    # Request 1: its one arrest use cited corroboration. Request 2: one of its two warrant
    # uses did not, so it is not corroborated.
    assert boston["arrest_corroborated"] == 1
    assert boston["warrant_uncorroborated"] == 1
    assert boston["warrant_corroborated"] == 0
    assert (boston["pending"], boston["no_lead"], boston["denied"]) == (1, 1, 1)
    assert counts.tables["outcomes"]["cambridge-pd"]["lead"] == 1
    # Each request-splitting table adds up to the agency's requests.
    for table in ("legal_basis", "offence_class", "outcomes", "described_sex", "described_race"):
        for agency in counts.agencies:
            assert sum(counts.tables[table][agency].values()) == counts.scalars["requests"][agency]


def test_emergency_filings_denials_and_violations(counts: Counts) -> None:
    assert counts.tables["emergency_filings"]["boston-pd"] == {
        "on_time": 0,
        "late": 1,
        "overdue": 0,
        "pending": 0,
    }
    assert counts.tables["emergency_filings"]["cambridge-pd"]["overdue"] == 1
    assert counts.tables["denials"]["boston-pd"] == {
        "offence.allowed_class": 1,
        "probe.source": 1,
    }
    assert counts.scalars["violations"] == {"boston-pd": 2, "cambridge-pd": 1, "unattributed": 1}
    assert counts.tables["violation_kinds"]["unattributed"]["forbidden_attempt"] == 1
    assert counts.column_totals("violation_kinds") == {
        "denied_action": 1,
        "forbidden_attempt": 1,
        "overdue_emergency_filing": 1,
        "late_emergency_filing": 1,
    }


def test_requests_by_month_and_legal_basis(counts: Counts) -> None:
    assert counts.by_month == {
        "2025-01": {"court_order": 1},
        "2025-02": {"court_order": 2},
        "2025-03": {"emergency": 1},
        "2025-04": {"court_order": 1},
        "2025-12": {"emergency": 1},
    }


def test_an_empty_period_counts_nothing() -> None:
    empty = count(REQUESTS, VIOLATIONS, Period(dt.date(2030, 1, 1), dt.date(2030, 1, 1)))
    assert empty.agencies == ()
    assert empty.total("requests") == 0
    assert empty.column_totals("legal_basis")["court_order"] == 0


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"starts .* after it ends"):
        Period(dt.date(2025, 2, 1), dt.date(2025, 1, 31))


def test_one_day_period_includes_the_whole_day_in_utc() -> None:
    day = Period(dt.date(2025, 3, 1), dt.date(2025, 3, 1))
    assert day.contains(dt.datetime(2025, 3, 1, tzinfo=UTC))
    assert day.contains(dt.datetime(2025, 3, 1, 23, 59, 59, 999999, tzinfo=UTC))
    assert not day.contains(dt.datetime(2025, 3, 2, tzinfo=UTC))
    # 00:30 on 2 March in UTC+1 is still 1 March in UTC.
    plus_one = dt.timezone(dt.timedelta(hours=1))
    assert day.contains(dt.datetime(2025, 3, 2, 0, 30, tzinfo=plus_one))
    assert not day.contains(None)
