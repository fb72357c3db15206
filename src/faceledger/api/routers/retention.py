"""API routes: the purge report (R13) — what retention, redaction and deletion removed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from faceledger.api.auth import Acting, Service
from faceledger.api.schemas import Day

router = APIRouter(tags=["retention"])


@router.get("/reports/purge", summary="What went, by category and count (R13)")
def purge_report(
    service: Service,
    acting: Acting,
    since: Annotated[
        Day | None, Query(description="First day counted (UTC); open if omitted.")
    ] = None,
    until: Annotated[
        Day | None, Query(description="Last day counted, included; open if omitted.")
    ] = None,
) -> dict[str, Any]:
    """Retention purges by kind (probe, results), ledger redactions by reason (retention,
    sealed) and gallery deletions, each by category and count (supervisor, auditor, admin).
    Producing the report is recorded in the ledger."""
    return service.retention.report(acting, since, until).to_dict()
