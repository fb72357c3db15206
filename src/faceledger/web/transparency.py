"""The transparency report page (R17): choose a period and the public or internal version,
see the totals and each agency's scalar counts, and download the report as HTML, CSV or JSON.
Producing a report is recorded in the ledger by the service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from faceledger.errors import InvalidInput
from faceledger.reports.transparency.render import render_csv, render_html, render_json
from faceledger.reports.transparency.report import TransparencyReport
from faceledger.web.auth import Viewer, need
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()

_DOWNLOADS = {
    "html": ("text/html; charset=utf-8", render_html),
    "csv": ("text/csv; charset=utf-8", render_csv),
    "json": ("application/json", render_json),
}


def _period(start: str, end: str) -> tuple[dt.date, dt.date]:
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    except ValueError:
        raise InvalidInput(
            f"Give the period as two dates YYYY-MM-DD; got {start!r} and {end!r}.",
            field="from",
        ) from None
    if first.year < 2000 or last.year > 2100:
        raise InvalidInput("The period must lie between 2000 and 2100.", field="from")
    return first, last


def _report(
    request: Request, viewer: Viewer, start: str, end: str, public: bool
) -> TransparencyReport:
    first, last = _period(start, end)
    return web_of(request).service.transparency.report(viewer.user, first, last, public)


Reporter = Annotated[Viewer, Depends(need("report.transparency"))]


@router.get("/reports/transparency")
def transparency(
    request: Request,
    viewer: Reporter,
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
    version: Annotated[str, Query(pattern="^(public|internal)$")] = "public",
) -> Response:
    """The report form; with a period, the report's totals and downloads."""
    today = dt.date.today()
    values = {
        "from": start or dt.date(today.year - 1, 1, 1).isoformat(),
        "to": end or dt.date(today.year - 1, 12, 31).isoformat(),
        "version": version,
    }
    report, error = None, None
    if start or end:
        try:
            report = _report(request, viewer, start, end, version == "public")
        except InvalidInput as exc:
            error = exc
    return page(
        request,
        viewer,
        "transparency.html",
        title="Transparency report",
        status=error.status if error else 200,
        error=error,
        values=values,
        report=report,
        totals=report.totals() if report else None,
        rows=[
            (agency, [report.shown(report.cell(m, agency)) for m in _SCALARS])
            for agency in report.agencies
        ]
        if report
        else [],
        scalars=_SCALARS,
    )


_SCALARS = ("requests", "searches", "candidates", "violations")


@router.get("/reports/transparency/report.{fmt}")
def download(
    request: Request,
    viewer: Reporter,
    fmt: str,
    start: Annotated[str, Query(alias="from", max_length=20)],
    end: Annotated[str, Query(alias="to", max_length=20)],
    version: Annotated[str, Query(pattern="^(public|internal)$")] = "public",
) -> Response:
    """The report as a file: ``report.html``, ``report.csv`` or ``report.json``."""
    if fmt not in _DOWNLOADS:
        raise InvalidInput(f"Download report.html, report.csv or report.json, not report.{fmt}.")
    media, render = _DOWNLOADS[fmt]
    report = _report(request, viewer, start, end, version == "public")
    name = f"transparency-{start}-{end}-{version}.{fmt}"
    return Response(
        render(report),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
