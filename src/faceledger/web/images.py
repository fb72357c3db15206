"""Face images, only through the service's role-checked use cases (issue 5, item 4).

Nothing biometric is ever under ``/static``: a probe face crop or a candidate's gallery face is
made for one request by a person the service lets see it, and is not cached anywhere.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from faceledger.errors import FaceLedgerError
from faceledger.web.auth import CurrentViewer
from faceledger.web.params import FaceNumber, RecordId
from faceledger.web.state import web_of

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _refused(error: FaceLedgerError) -> Response:
    return Response(
        error.message, status_code=error.status, media_type="text/plain", headers=NO_STORE
    )


@router.get("/requests/{request_id:int}/faces/{face_index:int}.jpg")
def probe_face(
    request: Request, request_id: RecordId, face_index: FaceNumber, viewer: CurrentViewer
) -> Response:
    """A crop of one face of a request's probe (its requester, examiners, reviewers,
    supervisors)."""
    try:
        data = web_of(request).service.images.probe_face_crop(viewer.user, request_id, face_index)
    except FaceLedgerError as exc:
        return _refused(exc)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.get("/requests/{request_id:int}/candidates/{candidate_id:int}.jpg")
def candidate_face(
    request: Request, request_id: RecordId, candidate_id: RecordId, viewer: CurrentViewer
) -> Response:
    """A candidate's aligned gallery face (staff; the requester only once released)."""
    try:
        data = web_of(request).service.images.candidate_chip(viewer.user, request_id, candidate_id)
    except FaceLedgerError as exc:
        return _refused(exc)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)
