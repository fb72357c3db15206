"""The search lifecycle: file, approve, search, review, release, close, use, file, seal.

Who may do each step is the policy engine's decision, taken inside the service: a refusal is
a 403 ``policy_denied`` with every reason in ``details.reasons``; a step that does not fit the
request's state is a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging
from faceledger.api.schemas import (
    CloseIn,
    CourtRefusalIn,
    FilingIn,
    LeadUseIn,
    OverdueOut,
    ProbeFaceOut,
    ProbeFacesOut,
    RequestId,
    ReviewIn,
)
from faceledger.api.uploads import read_upload, single_parts
from faceledger.governance.context import (
    AuthorityKind,
    DescribedRace,
    DescribedSex,
    LegalBasisKind,
    ProbeSource,
    Purpose,
)
from faceledger.governance.forms import RequestForm
from faceledger.governance.inputs import MAX_ID
from faceledger.governance.lifecycle import State
from faceledger.service.request_views import RequestView

router = APIRouter(tags=["requests"])

View = RequestView
"""A request as the caller may see it; its schema is derived from the service's view type."""

_TEXT = 300


def _text(description: str, max_length: int = _TEXT) -> Any:
    return Form(max_length=max_length, description=description)


def request_form(
    case_number: Annotated[str, Form(min_length=1, max_length=100, description="Case number.")],
    narrative: Annotated[str, Form(max_length=10_000, description="Short factual narrative (R6).")],
    legal_basis_kind: Annotated[LegalBasisKind, Form(description="The legal basis (R3-R5).")],
    galleries: Annotated[
        list[str], Form(min_length=1, description="Galleries to search (repeat the field).")
    ],
    offence_code: Annotated[
        str | None, Form(max_length=100, description="Offence code (GET /policy/offences).")
    ] = None,
    court: Annotated[str, _text("Court order: the court.")] = "",
    order_id: Annotated[str, _text("Court order: docket or order id.")] = "",
    judge: Annotated[str, _text("Court order: the judge.")] = "",
    issued_on: Annotated[str, _text("Court order: issued on (YYYY-MM-DD).", 10)] = "",
    expires_on: Annotated[str, _text("Court order: expires on (YYYY-MM-DD).", 10)] = "",
    authority: Annotated[
        AuthorityKind, Form(description="Court order: who issued it.")
    ] = AuthorityKind.JUDICIAL,
    facts: Annotated[str, _text("Emergency: facts of imminent danger.", 10_000)] = "",
    declared_at: Annotated[str, _text("Emergency: when declared (ISO 8601; default now).", 40)] = (
        ""
    ),
    description: Annotated[str, _text("Deceased or incapacitated: description.", 10_000)] = "",
    probe_source: Annotated[
        ProbeSource, Form(description="Where the probe came from (R7).")
    ] = ProbeSource.STILL_PHOTO,
    attested: Annotated[
        bool, Form(description="The subject is not targeted for protected activity (R8).")
    ] = False,
    attestation_text: Annotated[str, _text("The attestation in words.", 2000)] = "",
    purpose: Annotated[
        Purpose, Form(description="Declared purpose (R8).")
    ] = Purpose.CRIMINAL_INVESTIGATION,
    max_candidates: Annotated[
        int | None,
        Form(ge=1, le=MAX_ID, description="Candidate list length (the profile caps it)."),
    ] = None,
    face_index: Annotated[
        int | None,
        Form(
            ge=0,
            le=MAX_ID,
            description="The one face of the probe to search (0-based, as detected; "
            "POST /requests/probe-faces lists them). Needed when the photo shows several.",
        ),
    ] = None,
    described_sex: Annotated[
        DescribedSex | None,
        Form(
            description="Optional: the requester's description of the unknown person's sex "
            "(transparency report, MA-BILL); never inferred from the photo (R8)."
        ),
    ] = None,
    described_race: Annotated[
        DescribedRace | None,
        Form(
            description="Optional: the requester's description of the unknown person's race "
            "(transparency report, MA-BILL); never inferred from the photo (R8)."
        ),
    ] = None,
) -> RequestForm:
    """The text fields of a filed request, as the service's form."""
    fields = {k: v for k, v in locals().items() if k not in ("galleries", "attested")}
    return RequestForm.parse(fields, galleries, attested)


@router.post(
    "/requests",
    summary="File a search request",
    response_model=View,
    status_code=201,
    dependencies=[Depends(single_parts)],
)
def submit_request(
    service: Service,
    acting: Acting,
    form: Annotated[RequestForm, Depends(request_form)],
    probe: Annotated[UploadFile, File(description="The probe photo (a still image).")],
) -> View:
    """File a request with its probe photo as `multipart/form-data` (requester). The policy
    decides at once: `approved`, `submitted` (an emergency awaiting a supervisor), or a 403
    with every reason (the refused request is kept as `denied`). An image over the size limit
    is refused with 413 while it uploads; an unreadable image, one over the pixel limit or
    one without a usable face with 422. Nothing is written for a refused image."""
    data = read_upload(probe, service.settings.max_image_bytes)
    return service.requests.submit_request(acting, form, data, probe.filename or "probe")


@router.post(
    "/requests/probe-faces",
    summary="List the faces of a probe photo",
    response_model=ProbeFacesOut,
    dependencies=[Depends(single_parts)],
)
def probe_faces(
    service: Service,
    acting: Acting,
    probe: Annotated[UploadFile, File(description="The probe photo (a still image).")],
) -> ProbeFacesOut:
    """The faces detected in a photo, numbered as `face_index` names them (requester):
    a request for a photo of several faces must name the one to search; the others are never
    embedded or searched. Nothing is stored."""
    data = read_upload(probe, service.settings.max_image_bytes)
    found = service.requests.probe_faces(acting, data, probe.filename or "probe")
    return ProbeFacesOut(faces=[ProbeFaceOut(index=f.index, box=f.box.to_dict()) for f in found])


@router.get("/requests", summary="List search requests", response_model=Page[View])
def list_requests(
    service: Service,
    acting: Acting,
    paging: Paging,
    state: Annotated[State | None, Query(description="Only requests in this state.")] = None,
) -> Page[View]:
    """Requests the caller may see, newest first: a requester their own; examiners and
    reviewers of the operating unit those past approval; supervisors of the unit and
    auditors all."""
    views, total = service.requests.list_requests(
        acting, state.value if state else None, paging.limit, paging.offset
    )
    return Page(items=list(views), total=total, limit=paging.limit, offset=paging.offset)


@router.get("/requests/{request_id}", summary="Show a search request", response_model=View)
def get_request(service: Service, acting: Acting, request_id: RequestId) -> View:
    """One request as the caller may see it (404 outside the caller's scope): a requester
    sees only released candidates, with the caveat; whoever could still peer-review does not
    see the first review. `allowed_actions` lists the steps the caller may take next."""
    return service.requests.get_request(acting, request_id)


@router.post(
    "/requests/{request_id}/approve-emergency",
    summary="Approve an emergency request",
    response_model=View,
)
def approve_emergency(service: Service, acting: Acting, request_id: RequestId) -> View:
    """A supervisor approves an emergency request; the court-filing deadline runs (R4)."""
    return service.requests.approve_emergency(acting, request_id)


@router.post(
    "/requests/{request_id}/search", summary="Run the search of a request", response_model=View
)
def run_search(service: Service, acting: Acting, request_id: RequestId) -> View:
    """An examiner of the operating unit runs the search of an approved request (R1, R12)."""
    return service.requests.run_request_search(acting, request_id)


@router.post("/requests/{request_id}/reviews", summary="Submit a review", response_model=View)
def submit_review(service: Service, acting: Acting, request_id: RequestId, body: ReviewIn) -> View:
    """Mark every candidate: the first review (examiner), then the blind peer review by a
    second examiner or reviewer (R10)."""
    marks = [m.model_dump(mode="json") for m in body.marks]
    return service.reviews.submit_review(acting, request_id, marks, body.stage)


@router.post(
    "/requests/{request_id}/release", summary="Release the agreed leads", response_model=View
)
def release(service: Service, acting: Acting, request_id: RequestId) -> View:
    """Release to the requester the candidates every reviewer marked `possible_lead`, with
    the caveat (examiner, supervisor; R9, R10)."""
    return service.reviews.release_request(acting, request_id)


@router.post("/requests/{request_id}/close", summary="Close as no lead", response_model=View)
def close(service: Service, acting: Acting, request_id: RequestId, body: CloseIn) -> View:
    """Close a searched request as `no_lead`; nothing is released (examiner)."""
    return service.reviews.close_no_lead(acting, request_id, body.reason)


@router.post(
    "/requests/{request_id}/lead-uses", summary="Record a use of a lead", response_model=View
)
def record_lead_use(
    service: Service, acting: Acting, request_id: RequestId, body: LeadUseIn
) -> View:
    """Record that a released lead was used (requester). Arrest, warrant and photo lineup
    need a reference to independent corroborating evidence (R11)."""
    return service.reviews.record_lead_use(
        acting, request_id, body.candidate_id, body.use.value, body.corroboration_ref
    )


@router.post(
    "/requests/{request_id}/emergency-filing",
    summary="Record the court filing of an emergency",
    response_model=View,
)
def file_emergency_statement(
    service: Service, acting: Acting, request_id: RequestId, body: FilingIn
) -> View:
    """Record the sworn statement filed with the court after an emergency (an officer of the
    requesting agency; R4)."""
    return service.emergencies.file_emergency_statement(
        acting, request_id, body.reference, body.filed_at
    )


@router.post(
    "/requests/{request_id}/court-refusal",
    summary="Record a court refusal",
    response_model=View,
)
def record_court_refusal(
    service: Service, acting: Acting, request_id: RequestId, body: CourtRefusalIn
) -> View:
    """The court refused the emergency filing: the results are sealed and the probe and
    candidate list deleted (supervisor, admin; R4)."""
    return service.emergencies.record_court_refusal(acting, request_id, body.note)


@router.post(
    "/emergencies/overdue-check",
    summary="Flag overdue emergency filings",
    response_model=OverdueOut,
)
def overdue_check(service: Service, acting: Acting) -> OverdueOut:
    """Run the due jobs now: record a violation for each emergency whose court filing is
    overdue (once each) and seal it (supervisor, admin; R4, R18)."""
    report = service.emergencies.run_due(acting)
    return OverdueOut(flagged=list(report.flagged), sealed=list(report.sealed))
