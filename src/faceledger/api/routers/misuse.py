"""API routes: misuse findings (R18). A scan reads the requests filed within the profile's
window and stores (and alerts) each new finding; the findings are listed newest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging

router = APIRouter(tags=["misuse"])


class FindingOut(BaseModel):
    """A misuse finding: the rule, an explanation in plain English and the requests behind it."""

    id: int
    rule: str = Field(description="The rule, e.g. searches_per_case (a profile threshold).")
    title: str
    explanation: str = Field(description="What was found, naming the counts and thresholds.")
    request_ids: list[int] = Field(description="The requests behind the finding.")
    details: dict[str, Any] = Field(description="The figures behind the finding.")
    fingerprint: str = Field(description="SHA-256 of the rule, requests and key.")
    created_at: dt.datetime
    ledger_seq: int


class ScanOut(BaseModel):
    """What one scan did."""

    new: list[FindingOut] = Field(description="The findings this scan stored (new ones only).")
    found: int = Field(description="Findings the scan found, stored before or now.")
    total: int = Field(description="Findings stored now.")
    records: int = Field(description="Requests the scan read.")
    window_days: int
    window_start: dt.datetime
    profile: str
    scanned_at: dt.datetime


@router.post("/misuse/scan", summary="Scan the records for misuse", response_model=ScanOut)
def scan_misuse(service: Service, acting: Acting) -> ScanOut:
    """Scan the requests filed within the profile's window; store each new finding with its
    ledger entry and alert (supervisor, auditor)."""
    return ScanOut.model_validate(service.misuse.scan(acting).to_dict())


@router.get("/misuse/findings", summary="List misuse findings", response_model=Page[FindingOut])
def list_findings(
    service: Service,
    acting: Acting,
    paging: Paging,
    rule: Annotated[
        str | None, Query(max_length=50, description="Only this rule, e.g. searches_per_case.")
    ] = None,
) -> Page[FindingOut]:
    """Stored misuse findings, newest first (supervisor, auditor)."""
    found, total = service.misuse.findings(acting, rule, paging.limit, paging.offset)
    return Page(
        items=[FindingOut.model_validate(f.to_dict()) for f in found],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
