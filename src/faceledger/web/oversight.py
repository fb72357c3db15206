"""Oversight pages for supervisors and auditors (R18): the dashboard, the alert inbox with its
acknowledgements, and the misuse findings. Every page reads through the service, which
decides (and records) who may; the menu shows them only to those it allows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faceledger.errors import FaceLedgerError
from faceledger.governance.inputs import MAX_ID
from faceledger.reports.transparency.charts import bar_chart, months_chart, png_data_uri
from faceledger.service.dashboard import Dashboard
from faceledger.web.auth import CurrentViewer, FormPost, Viewer
from faceledger.web.params import PageNumber, RecordId
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()

ALERTS_PAGE = 50
FINDINGS_PAGE = 50


def _by_month(
    series: dict[str, dict[str, int]], months: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    return {m: {name: counts[m] for name, counts in series.items()} for m in months}


def _charts(board: Dashboard) -> list[tuple[str, str]]:
    """The dashboard's charts as (description, data URI) pairs."""
    states = list(board.requests_by_state)
    kinds = list(board.violations_by_kind)
    return [
        (
            "Requests filed per month, by the state they are in now",
            png_data_uri(
                months_chart(
                    _by_month(board.requests_by_state, board.months),
                    states,
                    title="Requests per month by state",
                )
            ),
        ),
        (
            "Requests filed in the period, by outcome",
            png_data_uri(bar_chart("Outcomes", board.outcomes, "requests")),
        ),
        (
            "Violations recorded per month, by kind",
            png_data_uri(
                months_chart(
                    _by_month(board.violations_by_kind, board.months),
                    kinds,
                    title="Violations per month by kind",
                    unit="violations",
                )
            ),
        ),
    ]


@router.get("/dashboard")
def dashboard(
    request: Request,
    viewer: CurrentViewer,
    months: Annotated[int, Query(ge=1, le=60)] = 12,
) -> Response:
    """Counts and charts for oversight: requests by month and state, outcomes, violations and
    open alerts (supervisors and auditors)."""
    board = web_of(request).service.dashboard.dashboard(viewer.user, months)
    return page(
        request,
        viewer,
        "dashboard.html",
        title="Oversight dashboard",
        board=board,
        charts=_charts(board),
        months=months,
    )


def _alerts_page(
    request: Request,
    viewer: Viewer,
    show: str,
    page_number: int,
    error: FaceLedgerError | None = None,
    done: int | None = None,
) -> Response:
    service = web_of(request).service
    found, total = service.alerts.list_alerts(
        viewer.user, show != "all", ALERTS_PAGE, (page_number - 1) * ALERTS_PAGE
    )
    may_ack = service.access.allows(viewer.user, "alerts.ack")
    return page(
        request,
        viewer,
        "alerts.html",
        title="Alerts",
        status=error.status if error else 200,
        error=error,
        alerts=found,
        total=total,
        show=show,
        may_ack=may_ack,
        done=done,
        page_number=page_number,
        pages=max(1, -(-total // ALERTS_PAGE)),
    )


@router.get("/alerts")
def alerts(
    request: Request,
    viewer: CurrentViewer,
    show: Annotated[str, Query(pattern="^(open|all)$")] = "open",
    page_number: PageNumber = 1,
    acknowledged: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The alert inbox: alerts raised by violations and misuse findings, open ones first."""
    return _alerts_page(request, viewer, show, page_number, done=acknowledged)


@router.post("/alerts/{alert_id:int}/ack")
def acknowledge(request: Request, alert_id: RecordId, post: FormPost) -> Response:
    """Acknowledge an alert with a note (recorded in the ledger)."""
    try:
        web_of(request).service.alerts.acknowledge(post.user, alert_id, post.text("note"))
    except FaceLedgerError as exc:
        if exc.status == 403:
            raise
        return _alerts_page(request, post.viewer, "open", 1, error=exc)
    return RedirectResponse(f"/alerts?acknowledged={alert_id}", status_code=303)


def _findings_page(
    request: Request,
    viewer: Viewer,
    page_number: int,
    error: FaceLedgerError | None = None,
    scanned: int | None = None,
) -> Response:
    found, total = web_of(request).service.misuse.findings(
        viewer.user, None, FINDINGS_PAGE, (page_number - 1) * FINDINGS_PAGE
    )
    return page(
        request,
        viewer,
        "misuse.html",
        title="Misuse findings",
        status=error.status if error else 200,
        error=error,
        findings=found,
        total=total,
        scanned=scanned,
        page_number=page_number,
        pages=max(1, -(-total // FINDINGS_PAGE)),
    )


@router.get("/misuse")
def findings(
    request: Request,
    viewer: CurrentViewer,
    page_number: PageNumber = 1,
) -> Response:
    """Stored misuse findings, newest first, each with its explanation and requests."""
    return _findings_page(request, viewer, page_number)


@router.post("/misuse/scan")
def scan(request: Request, post: FormPost) -> Response:
    """Scan the records for misuse now; new findings are stored and raise alerts."""
    try:
        result = web_of(request).service.misuse.scan(post.user)
    except FaceLedgerError as exc:
        if exc.status == 403:
            raise
        return _findings_page(request, post.viewer, 1, error=exc)
    return _findings_page(request, post.viewer, 1, scanned=len(result.new))
