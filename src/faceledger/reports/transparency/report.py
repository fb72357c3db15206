"""The transparency report (R17): counts of a period by requesting agency, public or internal.

The **public** version holds no personal data and hides small cells (:mod:`.suppression`):
a count from 1 to ``small_cell_min - 1`` reads ``"<5"`` (for a minimum of 5), and a larger
count hidden so that no such cell can be recovered by subtraction reads ``"suppressed"``; in
JSON both are an object, ``{"suppressed": true, "reason": "small_cell"}`` or ``{"suppressed":
true, "reason": "complementary"}``. Zeros are shown. Totals over all agencies (``totals.*``)
are always exact. Violations appear by agency as one count each, and by kind only in the totals.
``suppression`` in the JSON states the rule and how many cells were hidden, and how many hidden
cells the exact totals give away anyway (``exposed_cells``: e.g. the only non-zero count of a
column).

The **internal** version shows every count exactly and adds violations by kind per agency; it
is still a statistics report, with no names, case numbers or narratives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faceledger.reports.transparency.counts import SCALARS, TABLES, Counts, TableSpec, count
from faceledger.reports.transparency.facts import Period, RequestFacts, ViolationFacts
from faceledger.reports.transparency.suppression import Suppression, suppress

REPORT_FORMAT = "faceledger-transparency-report"
REPORT_VERSION = 1
SMALL, COMPLEMENTARY = "small_cell", "complementary"

CellKey = tuple[str, str, str]
"""(metric or table, agency, category); scalars have the category ""."""


@dataclass(frozen=True)
class Hidden:
    """A suppressed cell: ``reason`` is ``small_cell`` or ``complementary``."""

    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of a suppressed cell."""
        return {"suppressed": True, "reason": self.reason}


Cell = int | Hidden


def suppression_rule(min_cell: int) -> str:
    """The suppression rule, as every public output states it."""
    return (
        f'Counts from 1 to {min_cell - 1} are not shown ("<{min_cell}"); zero is shown as 0. '
        "Where a row or column with a published total would then hold a single hidden cell, "
        "or hidden cells could be worked out from the published totals together, further "
        'cells are hidden ("suppressed"). Totals over all agencies are always exact, so a '
        "small count that is the only non-zero count behind such a total cannot be hidden."
    )


@dataclass(frozen=True)
class TransparencyReport:
    """One report: its counts, and for the public version which cells are hidden.

    ``source`` is ``records`` (the service's rows) or ``export`` (a ledger export's public
    fields).
    """

    counts: Counts
    public: bool
    small_cell_min: int
    profile: str
    source: str
    generated_at: dt.datetime
    suppression: Suppression[CellKey] | None = None

    @property
    def period(self) -> Period:
        """The period counted."""
        return self.counts.period

    @property
    def agencies(self) -> tuple[str, ...]:
        """The agencies with any count in the period, sorted."""
        return self.counts.agencies

    def tables(self) -> tuple[TableSpec, ...]:
        """The tables shown by agency in this version."""
        return tuple(t for t in TABLES if t.public_by_agency or not self.public)

    def cell(self, metric: str, agency: str, category: str = "") -> Cell:
        """The published value of one cell: its count, or :class:`Hidden`."""
        key = (metric, agency, category)
        value = (
            self.counts.scalars[metric][agency]
            if metric in SCALARS
            else self.counts.tables[metric][agency][category]
        )
        if self.suppression is not None:
            if key in self.suppression.primary:
                return Hidden(SMALL)
            if key in self.suppression.complementary:
                return Hidden(COMPLEMENTARY)
        return value

    def shown(self, value: Cell) -> str:
        """A cell as text: the count, ``"<5"`` or ``"suppressed"``."""
        if isinstance(value, Hidden):
            return f"<{self.small_cell_min}" if value.reason == SMALL else "suppressed"
        return str(value)

    def totals(self) -> dict[str, Any]:
        """The exact totals over all agencies (``totals`` of the JSON)."""
        data: dict[str, Any] = {m: self.counts.total(m) for m in SCALARS}
        for spec in TABLES:
            data[spec.name] = self.counts.column_totals(spec.name)
        data["requests_by_month"] = {m: dict(v) for m, v in self.counts.by_month.items()}
        return data

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the ``report.json`` format, version 1)."""
        agencies: dict[str, Any] = {}
        for agency in self.agencies:
            row: dict[str, Any] = {m: _json(self.cell(m, agency)) for m in SCALARS}
            for spec in self.tables():
                row[spec.name] = {
                    c: _json(self.cell(spec.name, agency, c))
                    for c in self.counts.categories[spec.name]
                }
            agencies[agency] = row
        data: dict[str, Any] = {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "period": self.period.to_dict(),
            "public": self.public,
            "small_cell_min": self.small_cell_min,
            "profile": self.profile,
            "source": self.source,
            "generated_at": self.generated_at.isoformat(),
            "agencies": agencies,
            "totals": self.totals(),
        }
        if self.public:
            hidden = self.suppression
            data["suppression"] = {
                "rule": suppression_rule(self.small_cell_min),
                "small_cells": len(hidden.primary) if hidden else 0,
                "complementary_cells": len(hidden.complementary) if hidden else 0,
                "exposed_cells": len(hidden.exposed) if hidden else 0,
            }
        return data


def _json(value: Cell) -> Any:
    return value.to_dict() if isinstance(value, Hidden) else value


def public_cells(counts: Counts) -> tuple[dict[CellKey, int], list[dict[CellKey, int]]]:
    """Every cell the public version shows by agency, and the relations a reader can form
    between them (exact column totals; rows of request-splitting tables adding up to the
    agency's requests)."""
    values: dict[CellKey, int] = {}
    relations: list[dict[CellKey, int]] = []
    for metric in SCALARS:
        column = {(metric, a, ""): 1 for a in counts.agencies}
        values.update({k: counts.scalars[metric][k[1]] for k in column})
        relations.append(column)
    for spec in TABLES:
        if not spec.public_by_agency:
            continue
        rows = counts.tables[spec.name]
        cats = counts.categories[spec.name]
        for a in counts.agencies:
            values.update({(spec.name, a, c): rows[a][c] for c in cats})
        for c in cats:
            relations.append({(spec.name, a, c): 1 for a in counts.agencies})
        if spec.splits_requests:
            for a in counts.agencies:
                relations.append({**{(spec.name, a, c): 1 for c in cats}, ("requests", a, ""): -1})
    return values, [r for r in relations if r]


def build_report(
    requests: Iterable[RequestFacts],
    violations: Iterable[ViolationFacts],
    period: Period,
    *,
    public: bool,
    small_cell_min: int,
    profile: str,
    source: str,
    generated_at: dt.datetime,
) -> TransparencyReport:
    """Count the facts of ``period`` and, for the public version, decide what to hide."""
    counts = count(requests, violations, period)
    hidden = None
    if public:
        values, relations = public_cells(counts)
        hidden = suppress(values, relations, small_cell_min)
    return TransparencyReport(
        counts=counts,
        public=public,
        small_cell_min=small_cell_min,
        profile=profile,
        source=source,
        generated_at=generated_at,
        suppression=hidden,
    )
