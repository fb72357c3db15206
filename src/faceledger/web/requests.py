"""Requesters' pages: file a request, list requests, one request, record a lead's use.

The request page is shared by every role: it shows what ``get_request`` lets the caller see
and offers the forms of the next steps (the other routers post to their own paths and come
back here).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faceledger.db import utcnow
from faceledger.errors import (
    FaceLedgerError,
    ImageTooLarge,
    InvalidInput,
    NotFound,
    PolicyDenied,
)
from faceledger.governance.context import (
    AuthorityKind,
    DescribedRace,
    DescribedSex,
    LeadUseKind,
    LegalBasisKind,
    ProbeSource,
    Purpose,
)
from faceledger.governance.forms import FORM_TEXT_FIELDS, RequestForm
from faceledger.governance.lifecycle import State
from faceledger.http_limits import refuse_repeated
from faceledger.web.auth import CurrentViewer, FormPost, Posted, Viewer, need
from faceledger.web.params import PageNumber, RecordId
from faceledger.web.render import page
from faceledger.web.state import web_of
from faceledger.web.views import filing_status, notices, offered, probe_faces, review_marks

router = APIRouter()

PAGE_SIZE = 25
TEXT_FIELDS = FORM_TEXT_FIELDS
DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(TEXT_FIELDS, ""),
    "legal_basis_kind": LegalBasisKind.COURT_ORDER.value,
    "authority": AuthorityKind.JUDICIAL.value,
    "probe_source": ProbeSource.STILL_PHOTO.value,
    "purpose": Purpose.CRIMINAL_INVESTIGATION.value,
    "attested": False,
    "galleries": [],
}
Requester = Annotated[Viewer, Depends(need("request.submit"))]


# -- listing --------------------------------------------------------------------------------


@router.get("/requests")
def list_requests(
    request: Request,
    viewer: CurrentViewer,
    state: Annotated[str, Query()] = "",
    page_number: PageNumber = 1,
) -> Response:
    """The requests the person may see, newest first: a requester's own, staff's all."""
    views, total = web_of(request).service.requests.list_requests(
        viewer.user, state or None, PAGE_SIZE, (page_number - 1) * PAGE_SIZE
    )
    own_only = not web_of(request).service.access.allows(viewer.user, "request.candidates")
    return page(
        request,
        viewer,
        "requests.html",
        title="My agency's requests" if own_only else "Requests",
        requests=[v.to_dict() for v in views],
        total=total,
        states=[s.value for s in State],
        state=state,
        page_number=page_number,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


# -- filing ---------------------------------------------------------------------------------


def _new_page(
    request: Request,
    viewer: Viewer,
    values: dict[str, Any],
    error: FaceLedgerError | None = None,
    picker: dict[str, Any] | None = None,
) -> Response:
    service = web_of(request).service
    profile = service.policy.active_profile()
    severities = set(profile.request.allowed_severity_classes)
    return page(
        request,
        viewer,
        "request_new.html",
        title="New search request",
        status=error.status if error else 200,
        error=error,
        denied_and_kept=isinstance(error, PolicyDenied),
        values=values,
        offences=[
            (o.code, o.name, o.severity.value, o.severity in severities)
            for o in sorted(profile.offences, key=lambda o: (o.name, o.code))
        ],
        bases=[(k.value, k in profile.legal_basis.allowed) for k in LegalBasisKind],
        authorities=[a.value for a in AuthorityKind],
        sources=[(s.value, s in profile.request.allowed_probe_sources) for s in ProbeSource],
        purposes=[(p.value, p not in profile.request.forbidden_purposes) for p in Purpose],
        described_sexes=[v.value for v in DescribedSex],
        described_races=[v.value for v in DescribedRace],
        # Names only: a requester chooses where to search, not what is inside.
        galleries=service.galleries.gallery_names(viewer.user),
        max_candidates=profile.results.max_candidates,
        min_narrative=profile.request.min_narrative_chars,
        picker=picker,
    )


@router.get("/requests/new")
def new_request(request: Request, viewer: Requester) -> Response:
    """The request form: probe photo, case, offence, legal basis, attestation, galleries."""
    return _new_page(request, viewer, dict(DEFAULTS))


def _form_values(post: Posted) -> dict[str, Any]:
    values: dict[str, Any] = {name: post.text(name) for name in TEXT_FIELDS}
    values["attested"] = post.text("attested") == "yes"
    values["galleries"] = post.texts("galleries")
    return values


def _check_box(post: Posted, name: str) -> None:
    """Refuse a checkbox value other than the form's "yes" (ticked) or none (not ticked).
    Read as not ticked, a forged value would become a policy denial that is stored."""
    value = post.text(name)
    if value not in ("", "yes"):
        raise InvalidInput(
            f"{name} is a checkbox: it is sent as 'yes' when ticked and left out when not; "
            f"got {value[:20]!r}.",
            field=name,
        )


def _request_form(values: dict[str, Any]) -> RequestForm:
    return RequestForm.parse(values, values["galleries"], values["attested"])


def _probe(request: Request, post: Posted) -> tuple[bytes, str]:
    limit = web_of(request).service.settings.max_image_bytes
    kept = post.text("probe_kept")
    upload = post.upload("probe")
    if upload is None or not upload.filename:
        if not kept:
            raise InvalidInput("Choose the probe photo to upload.", field="probe")
        # The photo of the first attempt, carried by the face picker (browsers keep no file).
        if len(kept) > (limit + 2) // 3 * 4:
            raise ImageTooLarge(f"The photo is over the limit of {limit} bytes.", cause="too_large")
        try:
            return base64.b64decode(kept, validate=True), post.text("probe_name") or "probe"
        except binascii.Error:
            raise InvalidInput("The kept probe photo is damaged; upload it again.") from None
    data = upload.file.read(limit + 1)
    name = upload.filename or "probe"
    if len(data) > limit:
        raise ImageTooLarge(
            f"{name}: the file is over the limit of {limit} bytes.", source=name, cause="too_large"
        )
    return data, name


def _face_picker(request: Request, post: Posted, probe: bytes, name: str) -> dict[str, Any]:
    """The faces of the photo for the requester to choose from, and the photo kept."""
    faces = web_of(request).service.requests.probe_faces(post.user, probe, name)
    return {
        "faces": [
            (f.index, "data:image/jpeg;base64," + base64.b64encode(f.crop_jpeg).decode())
            for f in faces
        ],
        "kept": base64.b64encode(probe).decode(),
        "name": name,
    }


@router.post("/requests/new")
def file_request(request: Request, post: FormPost) -> Response:
    """File the request; the policy decides at once and every reason is shown if it denies.
    A photo of several faces comes back with its faces to choose the one to search."""
    values = _form_values(post)
    probe, name = b"", ""
    try:
        refuse_repeated(post.form.multi_items(), repeatable=("galleries",))
        _check_box(post, "attested")
        form = _request_form(values)
        probe, name = _probe(request, post)
        view = web_of(request).service.requests.submit_request(post.user, form, probe, name)
    except FaceLedgerError as exc:
        picker = None
        if exc.details.get("field") == "face_index" and probe:
            try:
                picker = _face_picker(request, post, probe, name)
            except FaceLedgerError as again:
                exc = again
        return _new_page(request, post.viewer, values, exc, picker)
    return RedirectResponse(f"/requests/{view.id}", status_code=303)


# -- one request ----------------------------------------------------------------------------


def request_page(
    request: Request,
    viewer: Viewer,
    request_id: int,
    error: FaceLedgerError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The page of one request as ``viewer`` may see it, with ``error`` from a failed
    action (its status becomes the page's)."""
    if isinstance(error, NotFound):
        raise error  # out of sight: the error page, without asking (and recording) again
    service = web_of(request).service
    data = service.requests.get_request(viewer.user, request_id).to_dict()
    banner = service.policy.active_profile().unsafe_banner
    disclosing = "report.disclosure" in data["allowed_actions"]
    disclosures = (
        [d.to_dict() for d in service.disclosures.list_disclosures(viewer.user, request_id)]
        if disclosing
        else []
    )
    return page(
        request,
        viewer,
        "request.html",
        title=f"Request {request_id}",
        status=error.status if error else 200,
        error=error,
        r=data,
        run=data["run"],
        candidates=(data["run"] or {}).get("candidates", []),
        faces=probe_faces(data),
        reviews=review_marks(data),
        notices=notices(data, banner),
        can=offered(data),
        filing=filing_status(data["emergency"], utcnow()),
        lead_uses=[u.value for u in LeadUseKind],
        values=values or {},
        disclosing=disclosing,
        disclosures=disclosures,
    )


@router.get("/requests/{request_id:int}")
def show_request(request: Request, request_id: RecordId, viewer: CurrentViewer) -> Response:
    """One request: its record, decision, candidates (as allowed), reviews and release."""
    return request_page(request, viewer, request_id)


@router.post("/requests/{request_id:int}/lead-use")
def record_lead_use(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """Record that a released lead was used (arrest, warrant, lineup need corroboration)."""
    values = {k: post.text(k) for k in ("candidate_id", "use", "corroboration_ref")}
    try:
        if not values["candidate_id"].isdigit():
            raise InvalidInput("Choose the released candidate.", field="candidate_id")
        web_of(request).service.reviews.record_lead_use(
            post.user,
            request_id,
            int(values["candidate_id"]),
            values["use"],
            values["corroboration_ref"],
        )
    except FaceLedgerError as exc:
        return request_page(request, post.viewer, request_id, exc, values)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def parse_when(text: str, name: str) -> dt.datetime | None:
    """An optional time from a ``datetime-local`` field, read as UTC."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a date and time; got {text!r}.", field=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
