"""Examiners' and reviewers' pages: the queue, running a search, the first and the blind peer
review, release and closing with no lead."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faceledger.errors import FaceLedgerError, NotFound
from faceledger.governance.context import ReviewOutcome, ReviewStage
from faceledger.governance.forms import enum_value
from faceledger.web.auth import FormPost, Posted, Viewer, need
from faceledger.web.params import RecordId
from faceledger.web.render import page
from faceledger.web.requests import request_page
from faceledger.web.state import web_of
from faceledger.web.views import notices, offered, probe_faces

router = APIRouter()

Examiner = Annotated[
    Viewer, Depends(need("request.search", "request.review.first", "request.review.peer"))
]
QUEUES = (
    ("approved", "Approved: to search", "queue-approved"),
    ("approved_emergency", "Emergency, approved by a supervisor: to search", "queue-emergency"),
    ("searched", "Searched: awaiting the first review", "queue-searched"),
    ("reviewed", "Reviewed: awaiting the blind peer review", "queue-reviewed"),
    ("peer_reviewed", "Peer reviewed: to release or close", "queue-peer-reviewed"),
)
QUEUE_LIMIT = 100


@router.get("/queue")
def queue(request: Request, viewer: Examiner) -> Response:
    """Requests waiting for an examiner or reviewer, by step."""
    service = web_of(request).service
    sections = []
    for state, heading, testid in QUEUES:
        views, total = service.requests.list_requests(viewer.user, state, QUEUE_LIMIT)
        sections.append(
            {
                "state": state,
                "heading": heading,
                "testid": testid,
                "total": total,
                "requests": [v.to_dict() for v in views],
            }
        )
    return page(request, viewer, "queue.html", title="Queue", sections=sections)


@router.post("/requests/{request_id:int}/search")
def run_search(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """Run the search of an approved request (the policy checks the examiner first)."""
    try:
        web_of(request).service.requests.run_request_search(post.user, request_id)
    except FaceLedgerError as exc:
        return request_page(request, post.viewer, request_id, exc)
    return RedirectResponse(f"/requests/{request_id}#candidates", status_code=303)


def _review_page(
    request: Request,
    viewer: Viewer,
    request_id: int,
    marks: dict[str, dict[str, str]] | None = None,
    error: FaceLedgerError | None = None,
) -> Response:
    if isinstance(error, NotFound):
        raise error  # out of sight: the error page, without asking (and recording) again
    service = web_of(request).service
    data = service.requests.get_request(viewer.user, request_id).to_dict()
    run = data["run"] or {}
    return page(
        request,
        viewer,
        "review.html",
        title=f"Review request {request_id}",
        status=error.status if error else 200,
        error=error,
        r=data,
        run=run,
        candidates=run.get("candidates", []),
        faces=probe_faces(data),
        notices=notices(data, service.policy.active_profile().unsafe_banner),
        open=offered(data)["review"],
        stage="first" if data["state"] == "searched" else "peer",
        outcomes=[o.value for o in ReviewOutcome],
        marks=marks or {},
    )


@router.get("/requests/{request_id:int}/review")
def review_form(request: Request, request_id: RecordId, viewer: Examiner) -> Response:
    """One outcome and note per candidate; a peer reviewer does not see the first review."""
    return _review_page(request, viewer, request_id)


def _posted_marks(post: Posted) -> dict[str, dict[str, str]]:
    ids = [c for c in post.texts("candidate") if c.isdigit()]
    return {c: {"outcome": post.text(f"outcome-{c}"), "note": post.text(f"note-{c}")} for c in ids}


@router.post("/requests/{request_id:int}/review")
def submit_review(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """Record the review; the service refuses a second review by the first reviewer."""
    marks = _posted_marks(post)
    # An unmarked candidate is left out, so that the service names every one still missing.
    payload: list[dict[str, Any]] = [
        {"candidate_id": int(c), "outcome": m["outcome"], "note": m["note"]}
        for c, m in marks.items()
        if m["outcome"]
    ]
    try:
        stage = post.text("stage")
        web_of(request).service.reviews.submit_review(
            post.user,
            request_id,
            payload,
            enum_value(ReviewStage, stage, "stage") if stage else None,
        )
    except FaceLedgerError as exc:
        return _review_page(request, post.viewer, request_id, marks, exc)
    return RedirectResponse(f"/requests/{request_id}#reviews", status_code=303)


@router.post("/requests/{request_id:int}/release")
def release(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """Release the candidates every reviewer marked possible_lead, with the caveat."""
    try:
        web_of(request).service.reviews.release_request(post.user, request_id)
    except FaceLedgerError as exc:
        return request_page(request, post.viewer, request_id, exc)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id:int}/close")
def close_no_lead(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """Close a searched request with nothing released, giving the reason."""
    reason = post.text("reason")
    try:
        web_of(request).service.reviews.close_no_lead(post.user, request_id, reason)
    except FaceLedgerError as exc:
        return request_page(request, post.viewer, request_id, exc, {"reason": reason})
    return RedirectResponse(f"/requests/{request_id}", status_code=303)
