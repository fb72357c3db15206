"""Reads the misuse rules' records from the database: each search request filed since a time,
with its requester, agency, search run (probe embedding) and flagged candidates."""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from faceledger.governance.accounts import Agency, User
from faceledger.governance.context import ReviewOutcome
from faceledger.governance.models import RequestRow, SearchRun
from faceledger.reports.misuse.records import CaseRecord

__all__ = ["read_records"]


def _record(row: RequestRow, requester: str, agency: str) -> CaseRecord:
    run = row.run
    embedding: NDArray[np.float32] | None = None
    subjects: tuple[tuple[str, int], ...] = ()
    if run is not None:
        if run.probe_embedding:
            embedding = np.frombuffer(run.probe_embedding, dtype=np.float32)
        leads = {
            mark.get("candidate_id")
            for review in row.reviews
            for mark in review.marks
            if mark.get("outcome") == ReviewOutcome.POSSIBLE_LEAD
        }
        subjects = tuple(
            sorted(
                {
                    (c.gallery, c.subject_id)
                    for c in run.candidates
                    if c.within_threshold or c.id in leads
                }
            )
        )
    return CaseRecord(
        request_id=row.id,
        case_number=row.case_number,
        requester=requester,
        agency=agency,
        filed_at=row.created_at,
        narrative=row.narrative,
        probe_sha256=row.probe_sha256,
        probe_embedding=embedding,
        subjects=subjects,
        searched=run is not None,
    )


def read_records(session: Session, since: dt.datetime) -> list[CaseRecord]:
    """Every search request filed at or after ``since``, as the misuse rules read it, oldest
    first. A gallery subject counts for a request where its candidate was within the gallery's
    threshold or a reviewer (first or peer) marked it ``possible_lead``."""
    query = (
        select(RequestRow, User.username, Agency.slug)
        .join(User, User.id == RequestRow.requester_id)
        .join(Agency, Agency.id == RequestRow.agency_id)
        .where(RequestRow.created_at >= since)
        .order_by(RequestRow.created_at, RequestRow.id)
        .options(
            selectinload(RequestRow.run).selectinload(SearchRun.candidates),
            selectinload(RequestRow.reviews),
        )
    )
    return [_record(row, username, slug) for row, username, slug in session.execute(query)]
