"""API routes: transparency reports (R17)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from faceledger.api.auth import Acting, Service
from faceledger.api.schemas import Day
from faceledger.reports.transparency.render import render_csv, render_html, render_json

router = APIRouter(tags=["transparency"])


class ReportFormat(StrEnum):
    """The forms a transparency report is served in."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"


_MEDIA = {
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.HTML: "text/html; charset=utf-8",
}
_RENDER = {
    ReportFormat.JSON: render_json,
    ReportFormat.CSV: render_csv,
    ReportFormat.HTML: render_html,
}
_REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: JSON (``faceledger-transparency-report`` version 1), CSV "
        "in long format (agency, metric, category, value) or one HTML page.",
        "content": {"application/json": {}, "text/csv": {}, "text/html": {}},
    }
}


@router.get(
    "/reports/transparency",
    summary="The transparency report of a period (R17)",
    response_class=Response,
    responses=_REPORT_RESPONSES,
)
def transparency_report(
    service: Service,
    acting: Acting,
    start: Annotated[Day, Query(alias="from", description="First day of the period (UTC).")],
    end: Annotated[Day, Query(alias="to", description="Last day of the period, included.")],
    public: Annotated[
        bool, Query(description="The public version: small cells suppressed.")
    ] = False,
    fmt: Annotated[
        ReportFormat, Query(alias="format", description="json, csv or html.")
    ] = ReportFormat.JSON,
) -> Response:
    """Requests, searches, legal bases, offence classes, outcomes, candidates, emergency
    filings, denials and violations by requesting agency (supervisor, auditor, admin). The
    public version holds no personal data and hides small counts; its totals are exact and
    anyone can reproduce them from the public ledger export (``faceledger report
    transparency --from-export``). Producing a report is recorded in the ledger."""
    report = service.transparency.report(acting, start, end, public)
    return Response(
        content=_RENDER[fmt](report),
        media_type=_MEDIA[fmt],
        headers={"Cache-Control": "no-store"},
    )
