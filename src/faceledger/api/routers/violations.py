"""Violations (R18): forbidden actions attempted and obligations missed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging
from faceledger.api.schemas import ViolationOut

router = APIRouter(tags=["violations"])


@router.get("/violations", summary="List violations", response_model=Page[ViolationOut])
def list_violations(
    service: Service,
    acting: Acting,
    paging: Paging,
    kind: Annotated[
        str | None, Query(max_length=50, description="Only this kind, e.g. denied_action.")
    ] = None,
) -> Page[ViolationOut]:
    """Violations, newest first (supervisor, auditor, admin)."""
    found, total = service.violations.list_violations(acting, kind, paging.limit, paging.offset)
    return Page(
        items=[ViolationOut.model_validate(v.to_dict()) for v in found],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
