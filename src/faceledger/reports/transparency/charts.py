"""The report's charts, drawn from the exact totals over all agencies (never from hidden cells):
requests per month by legal basis, outcomes, and violations by kind.

Each is a PNG made on the Agg canvas directly (no pyplot state, no display) and returned as
bytes, which the HTML embeds as a ``data:`` URI so the page needs no other file.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from faceledger.reports.transparency.report import TransparencyReport


@dataclass(frozen=True)
class Chart:
    """One chart: a title, a sentence for readers and screen readers, and its PNG bytes."""

    name: str
    title: str
    description: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI for an ``<img src>``."""
        return png_data_uri(self.png)


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI for an ``<img src>`` (pages that need no other file)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=96, bbox_inches="tight")
    return out.getvalue()


def _label(name: str) -> str:
    return name.replace("_", " ")


def months_chart(
    by_month: Mapping[str, Mapping[str, int]],
    series: Sequence[str],
    *,
    title: str = "Requests per month by legal basis",
    unit: str = "requests",
) -> bytes:
    """Stacked bars: ``by_month[month][series]`` counts (requests by legal basis unless
    ``title`` and ``unit`` say otherwise), one bar per month, one colour per series."""
    figure = Figure(figsize=(7.5, 3.6))
    ax = figure.add_subplot()
    months = list(by_month)
    bottom = [0] * len(months)
    for name in series:
        heights = [by_month[m].get(name, 0) for m in months]
        if any(heights):
            ax.bar(months, heights, bottom=bottom, label=_label(name))
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel(unit)
    ax.set_title(title)
    if any(bottom):
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.tick_params(axis="x", labelrotation=45)
    else:
        ax.text(0.5, 0.5, f"no {unit} in the period", ha="center", transform=ax.transAxes)
    return _png(figure)


def bar_chart(title: str, values: Mapping[str, int], axis: str) -> bytes:
    """Horizontal bars of ``values`` (categories in their order)."""
    names = list(values)
    figure = Figure(figsize=(7.5, 0.6 + 0.32 * max(len(names), 3)))
    ax = figure.add_subplot()
    ax.barh([_label(n) for n in names], [values[n] for n in names])
    ax.invert_yaxis()
    ax.set_xlabel(axis)
    ax.set_title(title)
    for i, n in enumerate(names):
        ax.text(values[n], i, f" {values[n]}", va="center", fontsize="small")
    return _png(figure)


def charts(report: TransparencyReport) -> list[Chart]:
    """The three charts of a report, from its exact totals."""
    totals = report.totals()
    bases = report.counts.categories["legal_basis"]
    return [
        Chart(
            "requests_by_month",
            "Requests per month by legal basis",
            "Requests filed in each month of the period, all agencies, stacked by legal basis.",
            months_chart(totals["requests_by_month"], bases),
        ),
        Chart(
            "outcomes",
            "Outcomes",
            "Requests filed in the period by where their case stands now, all agencies.",
            bar_chart("Outcomes", totals["outcomes"], "requests"),
        ),
        Chart(
            "violations",
            "Violations by kind",
            "Violations recorded in the period, all agencies, by kind.",
            bar_chart("Violations by kind", totals["violation_kinds"], "violations"),
        ),
    ]
