"""Writing the report: JSON, long-format CSV and one self-contained HTML page with charts."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pytest

from faceledger.errors import InvalidInput
from faceledger.reports.transparency.charts import bar_chart, months_chart
from faceledger.reports.transparency.render import (
    render_csv,
    render_html,
    write_report,
)

from .synthetic import history
from .test_report import report


def test_the_three_files_are_written(tmp_path: Path) -> None:
    written = write_report(report(public=True), tmp_path / "out")
    assert [p.name for p in written] == ["report.html", "report.csv", "report.json"]
    data = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert data["totals"]["searches"] == 4 and data["public"] is True


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(InvalidInput, match="is a file"):
        write_report(report(public=True), tmp_path / "taken")


def test_the_csv_is_long_format_with_markers_and_exact_totals() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(report(public=True)))))
    assert set(rows[0]) == {"agency", "metric", "category", "value"}
    cell = {(r["agency"], r["metric"], r["category"]): r["value"] for r in rows}
    assert cell[("cambridge-pd", "requests", "")] == "<5"
    assert cell[("boston-pd", "requests", "")] == "5"
    assert cell[("boston-pd", "legal_basis", "investigation")] == "0"
    assert cell[("ALL", "requests", "")] == "6"
    assert cell[("ALL", "searches", "")] == "4"
    assert cell[("ALL", "violation_kinds", "late_emergency_filing")] == "1"
    assert cell[("ALL", "requests_by_month", "2025-02:court_order")] == "2"
    # The public CSV shows violations by kind only as totals.
    assert not any(r["metric"] == "violation_kinds" and r["agency"] != "ALL" for r in rows)


def test_cells_hidden_to_protect_others_read_suppressed() -> None:
    many = history(600, seed=5, agencies=8)
    public = report(True, many.requests, many.violations)
    assert public.suppression is not None and public.suppression.complementary
    rows = list(csv.DictReader(io.StringIO(render_csv(public))))
    values = {r["value"] for r in rows}
    assert {"<5", "suppressed"} <= values
    assert len([r for r in rows if r["value"] == "suppressed"]) == len(
        public.suppression.complementary
    )


def test_the_internal_csv_is_exact() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(report(public=False)))))
    cell = {(r["agency"], r["metric"], r["category"]): r["value"] for r in rows}
    assert cell[("boston-pd", "requests", "")] == "5"
    assert cell[("boston-pd", "violation_kinds", "denied_action")] == "1"
    assert not any(r["value"] in ("<5", "suppressed") for r in rows)


def test_the_html_holds_charts_tables_the_rule_and_how_to_reproduce() -> None:
    html = render_html(report(public=True))
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "Requests per month by legal basis" in html
    assert "Public version" in html
    assert "Counts from 1 to 4 are not shown" in html
    assert "--from-export ledger.jsonl --public-key faceledger.pub" in html
    assert "--from 2025-01-01 --to 2025-12-31" in html
    assert "&lt;5" in html and "cambridge-pd" in html
    assert "<script" not in html


def test_the_internal_html_says_so() -> None:
    html = render_html(report(public=False))
    assert "Internal version" in html
    assert "Small-cell suppression" not in html


@pytest.mark.parametrize("by_month", [{}, {"2025-01": {"court_order": 0}}])
def test_a_months_chart_with_nothing_to_show_still_draws(
    by_month: dict[str, dict[str, int]],
) -> None:
    png = months_chart(by_month, ["court_order"], title="Violations per month", unit="violations")
    assert png.startswith(b"\x89PNG")


def test_a_bar_chart_of_no_categories_still_draws() -> None:
    assert bar_chart("Outcomes", {}, "requests").startswith(b"\x89PNG")
