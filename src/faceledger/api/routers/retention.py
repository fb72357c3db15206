"""API routes: the purge report (R13) — what retention, redaction and deletion removed.

Producing the report is recorded in the ledger (``report.purge``), so it is a POST; a GET of
the path answers 405 in the error shape, naming POST (a GET never changes state).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import ConfigDict, Field

from faceledger.api.auth import Acting, Service
from faceledger.api.schemas import Day, Input

router = APIRouter(tags=["retention"])


class PurgeReportIn(Input):
    """The days a purge report counts (both open when left out); recorded with it."""

    model_config = ConfigDict(frozen=True)

    since: Day | None = Field(default=None, description="First day counted (UTC); open if omitted.")
    until: Day | None = Field(
        default=None, description="Last day counted, included; open if omitted."
    )


@router.post("/reports/purge", summary="Produce the purge report: what went, by category (R13)")
def purge_report(
    service: Service,
    acting: Acting,
    body: Annotated[PurgeReportIn, Body()] = PurgeReportIn(),
) -> dict[str, Any]:
    """Retention purges by kind (probe, results), ledger redactions by reason (retention,
    sealed) and gallery deletions, each by category and count (supervisor, auditor, admin).
    Producing the report is recorded in the ledger (its ``ledger_seq``), so this is a POST
    answering 200 with the report; the body may be left out for every day."""
    return service.retention.report(acting, body.since, body.until).to_dict()
