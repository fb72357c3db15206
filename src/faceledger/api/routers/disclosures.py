"""API routes: disclosure packets (R14).

Producing a packet is an action (``report.disclosure``: supervisors of the unit and auditors),
recorded with who, when and for whom; the response is the packet itself, as the JSON bundle
(byte for byte the ``packet.json`` whose SHA-256 the ledger records) or rendered as HTML or
PDF. Listing shows the packets produced for a request.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging, page_of
from faceledger.api.schemas import Input, RequestId
from faceledger.service.disclosures import MAX_PURPOSE, MAX_RECIPIENT, DisclosureView

router = APIRouter(tags=["disclosures"])


class PacketFormat(StrEnum):
    """How the packet comes back."""

    JSON = "json"
    HTML = "html"
    PDF = "pdf"


_MEDIA = {
    PacketFormat.JSON: "application/json",
    PacketFormat.HTML: "text/html; charset=utf-8",
    PacketFormat.PDF: "application/pdf",
}


class DisclosureIn(Input):
    """For whom a packet is produced, and why (both recorded in the ledger)."""

    recipient: str = Field(
        min_length=1,
        max_length=MAX_RECIPIENT,
        description="For whom, e.g. 'Defence counsel for R. v. Doe, docket 24-123'.",
    )
    purpose: str = Field(default="", max_length=MAX_PURPOSE, description="Why it is disclosed.")


class DisclosureOut(BaseModel):
    """A packet produced for a request: who, when, for whom, and its SHA-256."""

    id: int
    request_id: int
    produced_by: str = Field(description="The ledger actor who produced it.")
    produced_at: str
    recipient: str
    purpose: str
    packet_sha256: str = Field(description="SHA-256 of the packet.json bytes.")
    checkpoint_size: int = Field(description="Tree size of the checkpoint its proofs reach.")
    fact_count: int
    ledger_seq: int = Field(description="The report.disclosure ledger entry.")


def _out(view: DisclosureView) -> DisclosureOut:
    return DisclosureOut.model_validate(view.to_dict())


@router.post(
    "/requests/{request_id}/disclosures",
    summary="Produce a disclosure packet",
    status_code=201,
    response_class=Response,
    responses={
        201: {
            "description": "The packet: JSON (the checkable bundle), HTML or PDF.",
            "content": {"application/json": {}, "text/html": {}, "application/pdf": {}},
        }
    },
)
def produce(
    service: Service,
    acting: Acting,
    request_id: RequestId,
    body: DisclosureIn,
    as_format: Annotated[
        PacketFormat, Query(alias="format", description="json (default), html or pdf.")
    ] = PacketFormat.JSON,
) -> Response:
    """Produce the request's disclosure packet for defence counsel or the court (supervisor,
    auditor; R14): that face recognition was used, the system and model, the measured
    accuracy (or "not evaluated"), the galleries and their sizes, the probe, the full
    candidate list, both reviews, the release, every lead use with its corroboration, and the
    legal basis, each fact with its ledger entry and an inclusion proof against one signed
    checkpoint. Producing it is recorded and marks the request disclosed (R12). Check the JSON
    offline with `faceledger ledger check-packet packet.json --public-key K`."""
    packet = service.disclosures.produce(acting, request_id, body.recipient, body.purpose)
    if as_format is PacketFormat.JSON:
        content: bytes = packet.text.encode("utf-8")
    elif as_format is PacketFormat.HTML:
        content = packet.html().encode("utf-8")
    else:
        content = packet.pdf()
    name = f"disclosure-request-{packet.request_id}.{as_format.value}"
    return Response(
        content=content,
        status_code=201,
        media_type=_MEDIA[as_format],
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Packet-SHA256": packet.sha256,
        },
    )


@router.get(
    "/requests/{request_id}/disclosures",
    summary="List the disclosure packets of a request",
    response_model=Page[DisclosureOut],
)
def list_disclosures(
    service: Service, acting: Acting, request_id: RequestId, paging: Paging
) -> Page[DisclosureOut]:
    """The packets produced for a request, oldest first: who produced each, when, for whom,
    and its SHA-256 (supervisor, auditor)."""
    found = service.disclosures.list_disclosures(acting, request_id)
    return page_of([_out(v) for v in found], paging)
