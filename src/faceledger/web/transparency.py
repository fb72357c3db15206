"""The transparency report page (R17): choose a period and the public or internal version,
see the totals and each agency's scalar counts, and download the report as HTML, CSV or JSON.

Producing a report is recorded in the ledger by the service, so it is a form post (with the
session's CSRF token): the page's GET only shows the form, and each download is a post that
produces (and records) a report of its own, as a disclosure packet's download does.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from faceledger.errors import InvalidInput
from faceledger.reports.transparency.render import render_csv, render_html, render_json
from faceledger.reports.transparency.report import TransparencyReport
from faceledger.web.auth import FormPost, Posted, Viewer, need
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()

ACTION = "report.transparency"
VERSIONS = ("public", "internal")
_DOWNLOADS = {
    "html": ("text/html; charset=utf-8", render_html),
    "csv": ("text/csv; charset=utf-8", render_csv),
    "json": ("application/json", render_json),
}
_SCALARS = ("requests", "searches", "candidates", "violations")

Reporter = Annotated[Viewer, Depends(need(ACTION))]


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


def _posted_values(post: Posted) -> dict[str, str]:
    # Echoed back into the form: cut to the inputs' size so a long value cannot bloat the page.
    return {name: post.text(name)[:20] for name in ("from", "to", "version")}


def _produce(
    request: Request, post: Posted, values: dict[str, str], fmt: str = "html"
) -> TransparencyReport:
    """Produce (and record) the report the posted ``values`` ask for, to be served as
    ``fmt``.

    Raises:
        PermissionDenied: without ``report.transparency`` (recorded), before the values are
            read, so a refused person learns nothing from them.
        InvalidInput: for a period, version or format that is not one (nothing recorded).
    """
    service = web_of(request).service
    service.access.check(post.user, ACTION)
    if fmt not in _DOWNLOADS:
        raise InvalidInput(f"Download report.html, report.csv or report.json, not report.{fmt}.")
    if values["version"] not in VERSIONS:
        raise InvalidInput("Choose the public or the internal version.", field="version")
    first, last = _period(values["from"], values["to"])
    return service.transparency.report(post.user, first, last, values["version"] == "public")


def _page(
    request: Request,
    viewer: Viewer,
    values: dict[str, str],
    report: TransparencyReport | None = None,
    error: InvalidInput | None = None,
) -> Response:
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


@router.get("/reports/transparency")
def transparency(
    request: Request,
    viewer: Reporter,
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
    version: Annotated[str, Query(pattern="^(public|internal)$")] = "public",
) -> Response:
    """The report form, filled in from the address if it names a period (last year
    otherwise). It produces nothing: producing a report is recorded, so it is the form's
    post."""
    today = dt.date.today()
    values = {
        "from": start or dt.date(today.year - 1, 1, 1).isoformat(),
        "to": end or dt.date(today.year - 1, 12, 31).isoformat(),
        "version": version,
    }
    return _page(request, viewer, values)


@router.post("/reports/transparency")
def make(request: Request, post: FormPost) -> Response:
    """Produce the report of the posted period and version (recorded) and show its totals,
    each agency's counts and the downloads; a bad period is the form again with the error."""
    values = _posted_values(post)
    try:
        report = _produce(request, post, values)
    except InvalidInput as exc:
        return _page(request, post.viewer, values, error=exc)
    return _page(request, post.viewer, values, report=report)


@router.post("/reports/transparency/report.{fmt}")
def download(request: Request, fmt: str, post: FormPost) -> Response:
    """Produce the report (recorded) as a file: ``report.html``, ``report.csv`` or
    ``report.json``; a bad period or format is the form again with the error."""
    values = _posted_values(post)
    try:
        report = _produce(request, post, values, fmt)
    except InvalidInput as exc:
        return _page(request, post.viewer, values, error=exc)
    media, render = _DOWNLOADS[fmt]
    name = f"transparency-{values['from']}-{values['to']}-{values['version']}.{fmt}"
    return Response(
        render(report),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
