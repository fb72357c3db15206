"""The disclosure packet on a request's page (R14): for whom, then the packet as PDF, HTML or
JSON. Producing one is recorded by the service (who, when, for whom) and marks the request
disclosed; each download is a packet of its own, with its own ledger entry."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from faceledger.errors import FaceLedgerError, InvalidInput
from faceledger.web.auth import FormPost
from faceledger.web.params import RecordId
from faceledger.web.requests import request_page
from faceledger.web.state import web_of

router = APIRouter()

_FORMATS = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


@router.post("/requests/{request_id:int}/disclosure")
def produce(request: Request, request_id: RecordId, post: FormPost) -> Response:
    """Produce the request's disclosure packet for the recipient named, and download it."""
    values = {k: post.text(k) for k in ("recipient", "purpose", "format")}
    fmt = values["format"] or "pdf"
    try:
        if fmt not in _FORMATS:
            raise InvalidInput("Choose PDF, HTML or JSON.", field="format")
        packet = web_of(request).service.disclosures.produce(
            post.user, request_id, values["recipient"], values["purpose"]
        )
    except FaceLedgerError as exc:
        if exc.status in (403, 404):
            raise
        return request_page(request, post.viewer, request_id, exc, values)
    html = packet.html() if fmt != "json" else ""
    body: bytes = {
        "pdf": lambda: packet.pdf(html),
        "html": lambda: html.encode("utf-8"),
        "json": lambda: packet.text.encode("utf-8"),
    }[fmt]()
    name = f"request-{request_id}-packet-{packet.sha256[:12]}.{fmt}"
    return Response(
        body,
        media_type=_FORMATS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Packet-SHA256": packet.sha256,
        },
    )
