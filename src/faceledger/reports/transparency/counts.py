"""Counting the facts of a period by requesting agency (R17): pure, the same for both sources.

Definitions (each count falls in the period by the time named):

* ``requests`` (filing time), by ``legal_basis``, ``offence_class``, ``outcomes``,
  ``described_sex`` and ``described_race``: each of these tables splits an agency's requests,
  so each row adds up to the agency's ``requests``;
* ``emergency_filings`` (filing time of the request): on time, late, overdue (flagged, never
  filed), pending; ``denials`` (filing time): denied requests by each failing rule id, so a
  request denied under two rules counts under both;
* ``searches`` and ``candidates`` (search time): searches run and the sum of their candidate
  list lengths;
* ``violations`` (the time it was recorded), and ``violation_kinds`` (by kind).

Outcomes follow R17: no lead, lead, further investigation, and photo lineup, warrant and arrest,
each split by whether every use of that kind cited corroborating evidence (R11); requests still
pending or denied have outcomes of those names.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from faceledger.governance.context import DescribedRace, DescribedSex, LegalBasisKind, Outcome
from faceledger.governance.violations import ViolationKind
from faceledger.reports.transparency.facts import (
    NO_AGENCY,
    Period,
    RequestFacts,
    ViolationFacts,
)

SCALARS = ("requests", "searches", "candidates", "violations")
"""The per-agency counts that are one number each."""

NOT_GIVEN = "not_given"
NO_CLASS = "none"
CORROBORATED_OUTCOMES = (Outcome.PHOTO_LINEUP, Outcome.WARRANT, Outcome.ARREST)
OUTCOME_CATEGORIES: tuple[str, ...] = (
    Outcome.PENDING,
    Outcome.DENIED,
    Outcome.NO_LEAD,
    Outcome.LEAD,
    Outcome.FURTHER_INVESTIGATION,
    *(f"{o}_{c}" for o in CORROBORATED_OUTCOMES for c in ("corroborated", "uncorroborated")),
)
FILING_CATEGORIES = ("on_time", "late", "overdue", "pending")


@dataclass(frozen=True)
class TableSpec:
    """One agency-by-category table: its name, title, the categories always shown (others
    follow as seen), whether each agency's row adds up to its requests, and whether the public
    version shows it by agency (else only its totals)."""

    name: str
    title: str
    fixed: tuple[str, ...] = ()
    splits_requests: bool = False
    public_by_agency: bool = True


TABLES: tuple[TableSpec, ...] = (
    TableSpec("legal_basis", "Requests by legal basis", tuple(LegalBasisKind), True),
    TableSpec("offence_class", "Requests by offence class", (), True),
    TableSpec("outcomes", "Requests by outcome", OUTCOME_CATEGORIES, True),
    TableSpec("emergency_filings", "Emergency court filings", FILING_CATEGORIES),
    TableSpec("denials", "Denied requests by failing rule", ()),
    TableSpec(
        "described_sex",
        "Requests by the requester's description of the person sought: sex",
        (*DescribedSex, NOT_GIVEN),
        True,
    ),
    TableSpec(
        "described_race",
        "Requests by the requester's description of the person sought: race",
        (*DescribedRace, NOT_GIVEN),
        True,
    ),
    TableSpec(
        "violation_kinds", "Violations by kind", tuple(ViolationKind), public_by_agency=False
    ),
)
"""Every table, in the order reports show them."""
TABLE_SPECS = {spec.name: spec for spec in TABLES}


@dataclass(frozen=True)
class Counts:
    """Exact counts of one period.

    ``scalars[metric][agency]`` and ``tables[table][agency][category]`` hold every agency with
    any count (zeros filled in for the table's categories); ``categories[table]`` orders each
    table's columns; ``by_month[YYYY-MM][legal basis]`` counts requests of all agencies.
    """

    period: Period
    agencies: tuple[str, ...]
    scalars: Mapping[str, Mapping[str, int]]
    tables: Mapping[str, Mapping[str, Mapping[str, int]]]
    categories: Mapping[str, tuple[str, ...]]
    by_month: Mapping[str, Mapping[str, int]]

    def total(self, metric: str) -> int:
        """The exact total of a scalar metric over every agency."""
        return sum(self.scalars[metric].values())

    def column_totals(self, table: str) -> dict[str, int]:
        """The exact total of each category of ``table`` over every agency."""
        rows = self.tables[table]
        return {c: sum(rows[a][c] for a in self.agencies) for c in self.categories[table]}


def outcome_category(facts: RequestFacts) -> str:
    """The outcome column a request counts in (corroboration split where R11 asks for it)."""
    if facts.outcome in CORROBORATED_OUTCOMES:
        return f"{facts.outcome}_{'corroborated' if facts.corroborated else 'uncorroborated'}"
    return facts.outcome


def _agency(name: str) -> str:
    return name or NO_AGENCY


def count(
    requests: Iterable[RequestFacts], violations: Iterable[ViolationFacts], period: Period
) -> Counts:
    """Count the facts that fall in ``period``, by agency (module doc for the definitions)."""
    scalars: dict[str, Counter[str]] = {m: Counter() for m in SCALARS}
    cells: dict[str, defaultdict[str, Counter[str]]] = {
        t.name: defaultdict(Counter) for t in TABLES
    }
    by_month: defaultdict[str, Counter[str]] = defaultdict(Counter)
    seen: set[str] = set()

    for r in requests:
        agency = _agency(r.agency)
        if period.contains(r.filed_at):
            seen.add(agency)
            scalars["requests"][agency] += 1
            by_month[r.filed_at.strftime("%Y-%m")][r.legal_basis] += 1
            cells["legal_basis"][agency][r.legal_basis] += 1
            cells["offence_class"][agency][r.offence_class or NO_CLASS] += 1
            cells["outcomes"][agency][outcome_category(r)] += 1
            cells["described_sex"][agency][r.described_sex or NOT_GIVEN] += 1
            cells["described_race"][agency][r.described_race or NOT_GIVEN] += 1
            if r.filing:
                cells["emergency_filings"][agency][r.filing] += 1
            if r.denied:
                for rule in r.denied_rules:
                    cells["denials"][agency][rule] += 1
        if period.contains(r.searched_at):
            seen.add(agency)
            scalars["searches"][agency] += 1
            scalars["candidates"][agency] += r.candidates
    for v in violations:
        if period.contains(v.recorded_at):
            agency = _agency(v.agency)
            seen.add(agency)
            scalars["violations"][agency] += 1
            cells["violation_kinds"][agency][v.kind] += 1

    agencies = tuple(sorted(seen))
    categories = {t.name: _categories(t, cells[t.name].values()) for t in TABLES}
    return Counts(
        period=period,
        agencies=agencies,
        scalars={m: {a: scalars[m][a] for a in agencies} for m in SCALARS},
        tables={
            t.name: {a: {c: cells[t.name][a][c] for c in categories[t.name]} for a in agencies}
            for t in TABLES
        },
        categories=categories,
        by_month={m: dict(sorted(by_month[m].items())) for m in sorted(by_month)},
    )


def _categories(spec: TableSpec, rows: Iterable[Counter[str]]) -> tuple[str, ...]:
    found = {c for row in rows for c, n in row.items() if n}
    fixed = tuple(str(c) for c in spec.fixed)
    return fixed + tuple(sorted(found - set(fixed)))
