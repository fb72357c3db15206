"""API routes: case queries (R12, R13) over requests and their searches, and CSV export.

Filters are query parameters, lists as repeated parameters (``?lead_use=warrant&lead_use=arrest``);
a bad one is a 422 ``invalid_input`` naming the field. "All searches linked to arrest warrants
since 2026-01-01" is ``GET /cases?lead_use=warrant&searched_since=2026-01-01``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging
from faceledger.governance.case_filters import FIELDS, CaseFilter, InvalidFilter
from faceledger.governance.context import DisclosureStatus, LeadUseKind, LegalBasisKind, Outcome
from faceledger.governance.lifecycle import State
from faceledger.governance.offences import SeverityClass
from faceledger.service.case_queries import CaseRow

router = APIRouter(tags=["cases"])

_DAY = "(YYYY-MM-DD, UTC, inclusive)"
_PAGING = ("limit", "offset")


def _unknown(request: Request, allowed: tuple[str, ...]) -> None:
    """Refuse query parameters that are not filters: a typo must not widen a query unseen."""
    extra = sorted(set(request.query_params) - set(FIELDS) - set(allowed))
    if extra:
        raise InvalidFilter(
            f"Unknown query parameter {', '.join(extra)}; the filters are {', '.join(FIELDS)}"
            + (f", and {' and '.join(allowed)} for paging." if allowed else "."),
            field=extra[0],
            allowed=list(FIELDS) + list(allowed),
        )


def case_filter(
    state: Annotated[list[State] | None, Query(description="Request state.")] = None,
    agency: Annotated[list[str] | None, Query(description="Requesting agency slug.")] = None,
    offence: Annotated[list[str] | None, Query(description="Offence code.")] = None,
    offence_class: Annotated[
        list[SeverityClass] | None, Query(description="Offence severity class.")
    ] = None,
    basis: Annotated[list[LegalBasisKind] | None, Query(description="Legal basis kind.")] = None,
    lead_use: Annotated[
        list[LeadUseKind] | None,
        Query(description="A lead of the request was used for this (any of the values)."),
    ] = None,
    outcome: Annotated[list[Outcome] | None, Query(description="Where the case stands.")] = None,
    filed_since: Annotated[
        str | None, Query(max_length=10, description=f"Filed on or after {_DAY}.")
    ] = None,
    filed_until: Annotated[
        str | None, Query(max_length=10, description=f"Filed on or before {_DAY}.")
    ] = None,
    searched_since: Annotated[
        str | None, Query(max_length=10, description=f"Search finished on or after {_DAY}.")
    ] = None,
    searched_until: Annotated[
        str | None, Query(max_length=10, description=f"Search finished on or before {_DAY}.")
    ] = None,
    examiner: Annotated[
        str | None, Query(max_length=64, description="Examiner who ran the search (username).")
    ] = None,
    reviewer: Annotated[
        str | None, Query(max_length=64, description="First or peer reviewer (username).")
    ] = None,
    requester: Annotated[
        str | None, Query(max_length=64, description="Requester who filed it (username).")
    ] = None,
    case: Annotated[str | None, Query(max_length=100, description="Case number (exact).")] = None,
    disclosure: Annotated[DisclosureStatus | None, Query(description="Disclosure status.")] = None,
) -> CaseFilter:
    """The filters of a case query, checked by the one parser of every interface."""
    return CaseFilter.parse(dict(locals()))


Filters = Annotated[CaseFilter, Depends(case_filter)]


@router.get("/cases", summary="Query cases", response_model=Page[CaseRow])
def query_cases(
    request: Request, service: Service, acting: Acting, paging: Paging, filters: Filters
) -> Page[CaseRow]:
    """The requests the caller may see that match every filter, newest first, one compact
    row each (R12): case, agency, requester, offence, legal basis and its ids, state,
    outcome, disclosure status, when filed and searched, operator, reviewers, candidate and
    released counts, lead uses. A filter only narrows the caller's sight (`request.read`):
    a requester sees their agency's requests, examiners and reviewers those past approval,
    supervisors and auditors all. Filed and searched days are UTC and inclusive."""
    _unknown(request, _PAGING)
    page = service.cases.query(acting, filters, paging.limit, paging.offset)
    return Page(items=list(page.items), total=page.total, limit=page.limit, offset=page.offset)


@router.get(
    "/cases.csv",
    summary="Export cases as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV with a header row."}},
)
def export_cases(
    request: Request, service: Service, acting: Acting, filters: Filters
) -> StreamingResponse:
    """Every request of `GET /cases` with the same filters (not one page), as CSV: a header
    row, one row per request, lists joined with "; ", times in ISO 8601 UTC, cells that a
    spreadsheet would run as a formula prefixed with a single quote. At most 100,000 rows; a
    larger query is a 422 asking for narrower filters."""
    _unknown(request, ())
    export = service.cases.export(acting, filters)
    return StreamingResponse(
        export.chunks(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="faceledger-cases.csv"',
            "Cache-Control": "no-store",
            "X-Total-Count": str(export.total),
        },
    )
