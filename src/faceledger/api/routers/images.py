"""Images of a request, only through the service's role-checked use cases.

Probe photos, probe face crops and candidate face chips are biometric data: each response is
marked ``Cache-Control: no-store`` so that no browser or proxy keeps a copy, and
``X-Content-Type-Options: nosniff`` so that it is never taken for anything but an image.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from faceledger.api.auth import Acting, Service
from faceledger.api.schemas import RequestId, id_path

router = APIRouter(tags=["images"])

_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_IMAGE = {"content": {"image/jpeg": {}}, "description": "The image."}


def _media_type(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), "image/jpeg")


def _image(data: bytes, media_type: str = "image/jpeg") -> Response:
    return Response(content=data, media_type=media_type, headers=_NO_STORE)


@router.get(
    "/requests/{request_id}/probe",
    summary="Get the probe photo",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}, "description": "The probe as uploaded."}},
)
def probe(service: Service, acting: Acting, request_id: RequestId) -> Response:
    """The probe photo as uploaded (its requester, examiners, reviewers, supervisors); gone
    once the request is sealed."""
    data = service.images.probe_bytes(acting, request_id)
    return _image(data, _media_type(data))


@router.get(
    "/requests/{request_id}/faces/{face_index}/crop.jpg",
    summary="Get a probe face crop",
    response_class=Response,
    responses={200: _IMAGE},
)
def face_crop(
    service: Service,
    acting: Acting,
    request_id: RequestId,
    face_index: Annotated[int, id_path("Face number in the probe, from 0.", minimum=0)],
) -> Response:
    """A JPEG crop of one face of the probe (its requester, examiners, reviewers,
    supervisors)."""
    return _image(service.images.probe_face_crop(acting, request_id, face_index))


@router.get(
    "/requests/{request_id}/candidates/{candidate_id}/chip.jpg",
    summary="Get a candidate face chip",
    response_class=Response,
    responses={200: _IMAGE},
)
def candidate_chip(
    service: Service,
    acting: Acting,
    request_id: RequestId,
    candidate_id: Annotated[int, id_path("Candidate id.")],
) -> Response:
    """A JPEG of a candidate's aligned gallery face: examiners, reviewers, supervisors and
    auditors see every candidate; the requester only released ones (403 otherwise)."""
    return _image(service.images.candidate_chip(acting, request_id, candidate_id))
