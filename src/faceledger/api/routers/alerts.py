"""API routes: alerts (R18): the inbox of supervisors and auditors, its count, and
acknowledging an alert with a note (recorded in the ledger)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging
from faceledger.api.schemas import Input, id_path
from faceledger.service.alerts import MAX_NOTE_CHARS

router = APIRouter(tags=["alerts"])


class DeliveryOut(BaseModel):
    """An alert's delivery on one channel (email or webhook)."""

    id: int
    channel: str = Field(description="email or webhook.")
    target: str = Field(description="The recipients, or the webhook URL without credentials.")
    status: str = Field(description="pending, delivered or failed (after the last attempt).")
    attempts: int
    next_attempt_at: dt.datetime | None = Field(description="When it is tried again.")
    last_error: str = Field(description="Why the last attempt failed; empty if none did.")
    delivered_at: dt.datetime | None


class AlertOut(BaseModel):
    """An alert raised by a violation or a misuse finding, open until acknowledged."""

    id: int
    source: str = Field(description="violation or misuse.")
    violation_id: int | None
    finding_id: int | None
    request_id: int | None
    title: str
    reason: str
    created_at: dt.datetime
    acknowledged: bool
    acknowledged_by: str
    acknowledged_at: dt.datetime | None
    ack_note: str
    ack_ledger_seq: int | None = Field(description="The ledger entry of the acknowledgement.")
    deliveries: list[DeliveryOut]


class AlertCountOut(BaseModel):
    """The inbox count: alerts waiting for acknowledgement (0 for roles that may not read
    alerts)."""

    open: int


class AckIn(Input):
    """An acknowledgement."""

    note: str = Field(
        min_length=1, max_length=MAX_NOTE_CHARS, description="What was done about the alert."
    )


@router.get("/alerts", summary="List alerts", response_model=Page[AlertOut])
def list_alerts(
    service: Service,
    acting: Acting,
    paging: Paging,
    open_only: Annotated[
        bool, Query(alias="open", description="Only alerts not yet acknowledged.")
    ] = False,
) -> Page[AlertOut]:
    """Alerts newest first, each with its deliveries (supervisor, auditor)."""
    found, total = service.alerts.list_alerts(acting, open_only, paging.limit, paging.offset)
    return Page(
        items=[AlertOut.model_validate(a.to_dict()) for a in found],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/alerts/count", summary="Count open alerts", response_model=AlertCountOut)
def count_alerts(service: Service, acting: Acting) -> AlertCountOut:
    """How many alerts wait for acknowledgement; 0 for anyone who may not read alerts."""
    return AlertCountOut(open=service.alerts.open_count(acting))


@router.post("/alerts/{alert_id}/ack", summary="Acknowledge an alert", response_model=AlertOut)
def acknowledge(
    service: Service, acting: Acting, alert_id: Annotated[int, id_path("Alert id.")], body: AckIn
) -> AlertOut:
    """Acknowledge an alert with a note (supervisor, auditor); the ledger records who and the
    note. 409 if it was acknowledged already."""
    return AlertOut.model_validate(
        service.alerts.acknowledge(acting, alert_id, body.note).to_dict()
    )
