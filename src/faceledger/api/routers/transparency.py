"""API routes: transparency reports (R17).

Producing a report is recorded in the ledger (``report.transparency``: who produced which
version of which period), so it is a POST; there is no GET of the report, since a GET never
changes state (a GET answers 405 in the error shape, naming POST).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict, Field

from faceledger.api.auth import Acting, Service
from faceledger.api.schemas import Day, Input
from faceledger.reports.transparency.render import render_csv, render_html, render_json

router = APIRouter(tags=["transparency"])


class ReportFormat(StrEnum):
    """The forms a transparency report is served in."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"


class TransparencyReportIn(Input):
    """The period and version of a transparency report; both are recorded with it."""

    model_config = ConfigDict(frozen=True)

    start: Day = Field(alias="from", description="First day of the period (UTC).")
    end: Day = Field(alias="to", description="Last day of the period, included.")
    public: bool = Field(default=False, description="The public version: small cells suppressed.")


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


@router.post(
    "/reports/transparency",
    summary="Produce the transparency report of a period (R17)",
    response_class=Response,
    responses=_REPORT_RESPONSES,
)
def transparency_report(
    service: Service,
    acting: Acting,
    body: TransparencyReportIn,
    fmt: Annotated[
        ReportFormat, Query(alias="format", description="json (default), csv or html.")
    ] = ReportFormat.JSON,
) -> Response:
    """Requests, searches, legal bases, offence classes, outcomes, candidates, emergency
    filings, denials and violations by requesting agency (supervisor, auditor, admin). The
    public version holds no personal data and hides small counts; its totals are exact and
    anyone can reproduce them from the public ledger export (``faceledger report
    transparency --from-export``). Producing a report is recorded in the ledger, so this is a
    POST answering 200 with the report itself: nothing is created that has an address of its
    own, and each call is a report (and a ledger entry) of its own."""
    report = service.transparency.report(acting, body.start, body.end, body.public)
    return Response(
        content=_RENDER[fmt](report),
        media_type=_MEDIA[fmt],
        headers={"Cache-Control": "no-store"},
    )
