"""Supervisors' pages: emergency approvals and court-filing deadlines, the overdue check, and
the violations list (shared with auditors and admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faceledger.db import utcnow
from faceledger.errors import FaceLedgerError
from faceledger.web.auth import CurrentViewer, FormPost, Viewer, need
from faceledger.web.params import PageNumber, RecordId
from faceledger.web.render import page
from faceledger.web.requests import parse_when, request_page
from faceledger.web.state import web_of
from faceledger.web.views import filing_status

router = APIRouter()

Supervisor = Annotated[Viewer, Depends(need("request.approve_emergency", "jobs.run_due"))]
SCAN_LIMIT = 500
VIOLATIONS_PAGE = 50


def _supervise_page(
    request: Request,
    viewer: Viewer,
    error: FaceLedgerError | None = None,
    flagged: list[int] | None = None,
) -> Response:
    views, total = web_of(request).service.requests.list_requests(viewer.user, None, SCAN_LIMIT)
    now = utcnow()
    emergencies: list[dict[str, Any]] = []
    for view in views:
        data = view.to_dict()
        if data["legal_basis"]["kind"] == "emergency":
            emergencies.append({**data, "filing": filing_status(data["emergency"], now)})
    return page(
        request,
        viewer,
        "supervise.html",
        title="Supervise",
        status=error.status if error else 200,
        error=error,
        awaiting=[e for e in emergencies if e["state"] == "submitted"],
        emergencies=[e for e in emergencies if e["state"] != "submitted"],
        scanned=len(views),
        total=total,
        flagged=flagged,
    )


@router.get("/supervise")
def supervise(request: Request, viewer: Supervisor) -> Response:
    """Emergency requests awaiting approval, and every emergency's filing deadline."""
    return _supervise_page(request, viewer)


@router.post("/supervise/overdue")
def check_overdue(request: Request, post: FormPost) -> Response:
    """Record a violation for each emergency whose court filing is overdue (R4, R18)."""
    try:
        flagged = list(web_of(request).service.emergencies.run_due(post.user).flagged)
    except FaceLedgerError as exc:
        if not web_of(request).service.access.allows(post.user, "request.approve_emergency"):
            raise
        return _supervise_page(request, post.viewer, exc)
    if not web_of(request).service.access.allows(post.user, "request.approve_emergency"):
        return RedirectResponse("/violations", status_code=303)
    return _supervise_page(request, post.viewer, flagged=flagged)


@router.post("/requests/{request_id:int}/approve-emergency")
def approve_emergency(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """A supervisor approves an emergency request; the court-filing clock runs (R4)."""
    try:
        web_of(request).service.requests.approve_emergency(post.user, request_id)
    except FaceLedgerError as exc:
        return request_page(request, post.viewer, request_id, exc)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id:int}/file-statement")
def file_statement(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """Record the sworn statement filed with the court for an emergency (R4)."""
    values = {k: post.text(k) for k in ("reference", "filed_at")}
    try:
        when = parse_when(values["filed_at"], "filed_at")
        web_of(request).service.emergencies.file_emergency_statement(
            post.user, request_id, values["reference"], when
        )
    except FaceLedgerError as exc:
        return request_page(request, post.viewer, request_id, exc, values)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id:int}/court-refusal")
def court_refusal(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """The court refused the emergency filing: the results are sealed, linked data deleted."""
    note = post.text("note")
    try:
        web_of(request).service.emergencies.record_court_refusal(post.user, request_id, note)
    except FaceLedgerError as exc:
        return request_page(request, post.viewer, request_id, exc, {"note": note})
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.get("/violations")
def violations(
    request: Request,
    viewer: CurrentViewer,
    kind: Annotated[str, Query()] = "",
    page_number: PageNumber = 1,
) -> Response:
    """Violations, newest first (supervisors, auditors, admins; others are recorded)."""
    service = web_of(request).service
    found, total = service.violations.list_violations(
        viewer.user, kind or None, VIOLATIONS_PAGE, (page_number - 1) * VIOLATIONS_PAGE
    )
    return page(
        request,
        viewer,
        "violations.html",
        title="Violations",
        violations=found,
        total=total,
        kind=kind,
        page_number=page_number,
        pages=max(1, -(-total // VIOLATIONS_PAGE)),
    )
