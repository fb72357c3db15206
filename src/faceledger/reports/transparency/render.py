"""Writing a transparency report: ``report.json``, ``report.csv`` (long format) and
``report.html`` (tables, charts embedded as PNG, the suppression rule, how to reproduce).

The CSV has one row per agency, metric and category: ``agency,metric,category,value``; scalar
metrics have an empty category, totals over all agencies have the agency ``ALL`` (agency keys
are lower-case slugs, so it cannot clash), and ``requests_by_month`` rows have the category
``YYYY-MM:<legal basis>``. A hidden cell's value reads ``<5`` or ``suppressed`` as in the HTML.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined

from faceledger.errors import InvalidInput
from faceledger.reports.transparency.charts import charts
from faceledger.reports.transparency.counts import SCALARS, TABLES
from faceledger.reports.transparency.report import (
    Hidden,
    TransparencyReport,
    suppression_rule,
)

ALL = "ALL"
"""The agency column of the CSV's total rows."""
FILES = ("report.html", "report.csv", "report.json")

_SCALAR_TITLES = {
    "requests": "requests filed",
    "searches": "searches run",
    "candidates": "candidates listed",
    "violations": "violations recorded",
}


def render_json(report: TransparencyReport) -> str:
    """The report as ``report.json`` (indented, keys in the report's order)."""
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render_csv(report: TransparencyReport) -> str:
    """The report in long format (module doc)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["agency", "metric", "category", "value"])
    for agency in report.agencies:
        for metric in SCALARS:
            writer.writerow([agency, metric, "", report.shown(report.cell(metric, agency))])
        for spec in report.tables():
            for c in report.counts.categories[spec.name]:
                value = report.shown(report.cell(spec.name, agency, c))
                writer.writerow([agency, spec.name, c, value])
    totals = report.totals()
    for metric in SCALARS:
        writer.writerow([ALL, metric, "", totals[metric]])
    for spec in TABLES:
        for c, n in totals[spec.name].items():
            writer.writerow([ALL, spec.name, c, n])
    for month, bases in totals["requests_by_month"].items():
        for basis, n in bases.items():
            writer.writerow([ALL, "requests_by_month", f"{month}:{basis}", n])
    return out.getvalue()


@dataclass(frozen=True)
class _Shown:
    text: str
    hidden: bool


def _cell(report: TransparencyReport, value: int | Hidden) -> _Shown:
    return _Shown(report.shown(value), isinstance(value, Hidden))


def _tables(report: TransparencyReport) -> list[dict[str, Any]]:
    totals = report.totals()
    rows = [
        {
            "name": a,
            "total": False,
            "cells": [_cell(report, report.cell(m, a)) for m in SCALARS],
        }
        for a in report.agencies
    ]
    rows.append(
        {
            "name": "all agencies",
            "total": True,
            "cells": [_Shown(str(totals[m]), False) for m in SCALARS],
        }
    )
    shown = [
        {
            "title": "Requests, searches, candidates and violations",
            "note": "",
            "columns": [_SCALAR_TITLES[m] for m in SCALARS],
            "rows": rows,
        }
    ]
    for spec in report.tables():
        cats = report.counts.categories[spec.name]
        if not cats:
            continue
        columns = [c.replace("_", " ") for c in cats]
        rows = []
        for a in report.agencies:
            cells = [_cell(report, report.cell(spec.name, a, c)) for c in cats]
            if spec.splits_requests:
                cells.append(_cell(report, report.cell("requests", a)))
            rows.append({"name": a, "total": False, "cells": cells})
        exact = [_Shown(str(totals[spec.name][c]), False) for c in cats]
        if spec.splits_requests:
            exact.append(_Shown(str(totals["requests"]), False))
        rows.append({"name": "all agencies", "total": True, "cells": exact})
        shown.append(
            {
                "title": spec.title,
                "note": "Each row adds up to the agency's requests."
                if spec.splits_requests
                else "",
                "columns": columns + (["requests"] if spec.splits_requests else []),
                "rows": rows,
            }
        )
    if report.public:
        kinds = totals["violation_kinds"]
        shown.append(
            {
                "title": "Violations by kind (all agencies)",
                "note": "",
                "columns": ["violations"],
                "rows": [
                    {"name": k.replace("_", " "), "total": False, "cells": [_Shown(str(n), False)]}
                    for k, n in kinds.items()
                ],
            }
        )
    return shown


def render_html(report: TransparencyReport) -> str:
    """The report as one self-contained HTML page (charts embedded)."""
    template_text = (
        resources.files("faceledger.reports.transparency")
        .joinpath("report.html.j2")
        .read_text(encoding="utf-8")
    )
    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    totals = report.totals()
    version = "public" if report.public else "internal"
    return env.from_string(template_text).render(
        title=f"Transparency report (R17), {version} version",
        period=report.period.to_dict(),
        profile=report.profile,
        source_text="agency's records"
        if report.source == "records"
        else "public fields of a verified ledger export",
        generated_at=report.generated_at.isoformat(timespec="seconds"),
        public=report.public,
        summary=[(_SCALAR_TITLES[m], totals[m]) for m in SCALARS],
        charts=charts(report),
        tables=_tables(report),
        suppression_rule=suppression_rule(report.small_cell_min),
        small_cell_min=report.small_cell_min,
    )


def write_report(report: TransparencyReport, folder: Path) -> tuple[Path, ...]:
    """Write ``report.html``, ``report.csv`` and ``report.json`` into ``folder`` (created if
    needed) and return their paths.

    Raises:
        InvalidInput: if ``folder`` is an existing file or cannot be created.
    """
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} is a file; give a folder for the report.", out=str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"Cannot create {folder}: {exc.strerror}.", out=str(folder)) from None
    written = []
    for name, text in zip(
        FILES, (render_html(report), render_csv(report), render_json(report)), strict=True
    ):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return tuple(written)
