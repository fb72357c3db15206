"""Case queries (R12, R13): requests and their searches by structured filters, and CSV export.

A :class:`~faceledger.governance.case_filters.CaseFilter` becomes WHERE clauses and EXISTS
subqueries on top of the caller's ``request.read`` sight (:meth:`Access.visible_filter`), so a
filter can only narrow what the caller may see: an agency outside one's sight just matches
nothing. What a row shows follows the request view: reviewers only for those who may see the
candidate list, and never the first reviewer to whoever could still peer-review (R10).

Queries are read-only and record nothing. An export streams its rows in pages, each read in a
transaction of its own, down from the newest matching request at the time it was counted.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Select, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from faceledger.governance.accounts import Agency, Principal, User
from faceledger.governance.case_filters import CaseFilter, InvalidFilter
from faceledger.governance.context import LegalBasisKind, ReviewStage
from faceledger.governance.lifecycle import State
from faceledger.governance.models import (
    CandidateRow,
    LeadUseRow,
    RequestRow,
    ReviewRow,
    SearchRun,
)
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.service.paging import check_page

MAX_PAGE = 500
"""The most rows one page of a query holds."""
MAX_EXPORT_ROWS = 100_000
"""The most rows one CSV export holds; a larger one is refused, asking for narrower filters."""
EXPORT_PAGE = 500
"""Rows an export reads per transaction (by default)."""


@dataclass(frozen=True)
class LeadUseEntry:
    """One recorded use of a released lead (R11)."""

    kind: str
    corroboration_ref: str
    at: str | None


@dataclass(frozen=True)
class CaseRow:
    """One request in a case query: what R12 keeps about it, in one compact row."""

    id: int
    case_number: str
    agency: str | None
    requester: str | None
    offence_code: str | None
    offence_class: str | None
    legal_basis_kind: str
    legal_basis_ids: dict[str, str]
    """The basis's identifiers: court and order id of a court order, the court filing's
    reference of an emergency."""
    state: str
    outcome: str
    disclosure_status: str
    filed_at: str | None
    searched_at: str | None
    operator: str | None
    first_reviewer: str | None
    """None until reviewed, for callers who may not see reviews, and while the caller could
    still peer-review the request (R10)."""
    peer_reviewer: str | None
    candidate_count: int | None
    """How many candidates the search listed (None before a search)."""
    released_count: int
    lead_uses: tuple[LeadUseEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        data = dataclasses.asdict(self)
        data["lead_uses"] = [dict(u) for u in data["lead_uses"]]
        return data

    def csv_cells(self) -> list[str]:
        """The row's cells in :data:`CSV_COLUMNS` order: lists joined with "; ", every cell
        guarded against formula injection."""
        ids = "; ".join(f"{k}: {v}" for k, v in self.legal_basis_ids.items())
        cells = [
            str(self.id),
            self.case_number,
            self.agency or "",
            self.requester or "",
            self.offence_code or "",
            self.offence_class or "",
            self.legal_basis_kind,
            ids,
            self.state,
            self.outcome,
            self.disclosure_status,
            self.filed_at or "",
            self.searched_at or "",
            self.operator or "",
            self.first_reviewer or "",
            self.peer_reviewer or "",
            "" if self.candidate_count is None else str(self.candidate_count),
            str(self.released_count),
            "; ".join(u.kind for u in self.lead_uses),
            "; ".join(u.corroboration_ref for u in self.lead_uses),
            "; ".join(u.at or "" for u in self.lead_uses),
        ]
        return [safe_cell(c) for c in cells]


CSV_COLUMNS = (
    "id",
    "case_number",
    "agency",
    "requester",
    "offence_code",
    "offence_class",
    "legal_basis_kind",
    "legal_basis_ids",
    "state",
    "outcome",
    "disclosure_status",
    "filed_at",
    "searched_at",
    "operator",
    "first_reviewer",
    "peer_reviewer",
    "candidate_count",
    "released_count",
    "lead_uses",
    "lead_use_corroboration",
    "lead_use_times",
)
"""The header row of a case export."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Return ``text`` with a leading single quote if a spreadsheet would read it as a formula
    (it starts with = + - @, a tab or a carriage return)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


@dataclass(frozen=True)
class CasePage:
    """One page of a case query, with the sentence of what was asked."""

    items: tuple[CaseRow, ...]
    total: int
    limit: int
    offset: int
    description: str

    def to_dict(self) -> dict[str, Any]:
        """Return the page as JSON-ready data."""
        return {
            "description": self.description,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "items": [r.to_dict() for r in self.items],
        }


@dataclass(frozen=True)
class CaseExport:
    """A counted CSV export, read page by page as it is streamed."""

    total: int
    description: str
    pages: Callable[[], Iterator[list[CaseRow]]] = field(repr=False)

    def chunks(self) -> Iterator[str]:
        """The CSV text: the header row, then one chunk per page of rows."""
        yield _csv_text([list(CSV_COLUMNS)])
        for page in self.pages():
            yield _csv_text(r.csv_cells() for r in page)

    def write(self, out: TextIO) -> int:
        """Write the whole CSV to ``out``; return how many rows it holds."""
        written = 0
        out.write(_csv_text([list(CSV_COLUMNS)]))
        for page in self.pages():
            out.write(_csv_text(r.csv_cells() for r in page))
            written += len(page)
        return written


def _csv_text(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


class CaseQueryUseCases:
    """Case queries over requests and searches (``request.read``, read-only)."""

    def __init__(
        self,
        ctx: ServiceContext,
        access: Access,
        *,
        export_page: int = EXPORT_PAGE,
        max_export_rows: int = MAX_EXPORT_ROWS,
    ) -> None:
        self._ctx, self._access = ctx, access
        self._export_page, self._max_export_rows = export_page, max_export_rows

    def query(
        self, acting: Principal, spec: CaseFilter, limit: int = 50, offset: int = 0
    ) -> CasePage:
        """The requests the caller may see that match ``spec``, newest first, one page.

        Raises:
            PermissionDenied: for roles that may read no request (recorded).
            InvalidInput: for a limit outside 1-500 or a negative offset.
        """
        check_page(limit, offset, MAX_PAGE)
        with self._access.transaction(acting, "request.read", write=False) as (session, me):
            where = self._where(session, me, spec)
            total = session.scalar(select(func.count(RequestRow.id)).where(*where)) or 0
            found = session.scalars(
                _loading(select(RequestRow).where(*where))
                .order_by(RequestRow.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            rows = self._rows(session, me, found)
        return CasePage(tuple(rows), total, limit, offset, spec.describe())

    def export(self, acting: Principal, spec: CaseFilter) -> CaseExport:
        """Count what ``spec`` matches and return the export of those rows, newest first;
        the rows are read as :meth:`CaseExport.chunks` or :meth:`CaseExport.write` asks.

        Raises:
            PermissionDenied: for roles that may read no request (recorded).
            InvalidFilter: if more requests match than an export holds
                (:data:`MAX_EXPORT_ROWS` unless the constructor was given another cap).
        """
        with self._access.transaction(acting, "request.read", write=False) as (session, me):
            where = self._where(session, me, spec)
            total, top = session.execute(
                select(func.count(RequestRow.id), func.max(RequestRow.id)).where(*where)
            ).one()
        if total > self._max_export_rows:
            raise InvalidFilter(
                f"The query matches {total} requests; an export holds at most "
                f"{self._max_export_rows}. Narrow the filters (a date range, an agency).",
                total=total,
                max_rows=self._max_export_rows,
            )
        return CaseExport(total or 0, spec.describe(), lambda: self._pages(acting, spec, top or 0))

    def _pages(self, acting: Principal, spec: CaseFilter, top: int) -> Iterator[list[CaseRow]]:
        """Pages of the export, each read in its own transaction, from request ``top`` down
        (requests filed after the count are left out)."""
        below = top + 1
        while True:
            with self._access.transaction(acting, "request.read", write=False) as (session, me):
                where = self._where(session, me, spec)
                found = session.scalars(
                    _loading(select(RequestRow).where(*where, RequestRow.id < below))
                    .order_by(RequestRow.id.desc())
                    .limit(self._export_page)
                ).all()
                page = self._rows(session, me, found)
            if not page:
                return
            yield page
            below = page[-1].id
            if len(page) < self._export_page:
                return

    # -- the query -------------------------------------------------------------------------

    def _where(
        self, session: Session, me: Principal, spec: CaseFilter
    ) -> list[ColumnElement[bool]]:
        """The caller's sight and every condition of ``spec``, as SQL on RequestRow."""
        r = RequestRow
        where = [self._access.visible_filter(session, me)]
        if spec.states:
            where.append(r.state.in_([s.value for s in spec.states]))
        if spec.agencies:
            where.append(r.agency_id.in_(select(Agency.id).where(Agency.slug.in_(spec.agencies))))
        if spec.offence_codes:
            where.append(r.offence_code.in_(spec.offence_codes))
        if spec.offence_classes:
            where.append(r.offence_severity.in_([c.value for c in spec.offence_classes]))
        if spec.bases:
            where.append(r.legal_basis_kind.in_([b.value for b in spec.bases]))
        if spec.outcomes:
            where.append(r.outcome.in_([o.value for o in spec.outcomes]))
        if spec.disclosure is not None:
            where.append(r.disclosure_status == spec.disclosure.value)
        if spec.case_number is not None:
            where.append(r.case_number == spec.case_number)
        if spec.requester is not None:
            where.append(r.requester_id == _user_id(spec.requester))
        if spec.filed_from is not None:
            where.append(r.created_at >= _day_start(spec.filed_from))
        if spec.filed_to is not None:
            where.append(r.created_at < _day_start(spec.filed_to + dt.timedelta(days=1)))
        if spec.lead_uses:
            uses = [u.value for u in spec.lead_uses]
            where.append(
                select(LeadUseRow.id)
                .where(LeadUseRow.request_id == r.id, LeadUseRow.use.in_(uses))
                .exists()
            )
        run = self._run_condition(spec)
        if run is not None:
            where.append(run)
        if spec.reviewer is not None:
            where.append(self._reviewer_condition(session, me, spec.reviewer))
        return where

    @staticmethod
    def _run_condition(spec: CaseFilter) -> ColumnElement[bool] | None:
        """EXISTS a search run by the examiner, finished within the searched days."""
        conditions: list[ColumnElement[bool]] = []
        if spec.examiner is not None:
            conditions.append(SearchRun.operator_id == _user_id(spec.examiner))
        if spec.searched_from is not None:
            conditions.append(SearchRun.finished_at >= _day_start(spec.searched_from))
        if spec.searched_to is not None:
            end = _day_start(spec.searched_to + dt.timedelta(days=1))
            conditions.append(SearchRun.finished_at < end)
        if not conditions:
            return None
        return (
            select(SearchRun.id).where(SearchRun.request_id == RequestRow.id, *conditions).exists()
        )

    def _reviewer_condition(
        self, session: Session, me: Principal, reviewer: str
    ) -> ColumnElement[bool]:
        """EXISTS a review by ``reviewer`` that the caller may know of: none for those who
        may not see reviews; for whoever could peer-review, no first review of a request
        still awaiting its peer review, unless they are one of its people (requester,
        operator, the first reviewer), who may not peer-review it (R10)."""
        if not self._access.may(session, me, "request.candidates"):
            return false()
        review = select(ReviewRow.id).where(
            ReviewRow.request_id == RequestRow.id, ReviewRow.reviewer_id == _user_id(reviewer)
        )
        if self._access.may(session, me, "request.review.peer"):
            operator = select(SearchRun.id).where(
                SearchRun.request_id == RequestRow.id, SearchRun.operator_id == me.id
            )
            review = review.where(
                or_(
                    ReviewRow.stage == ReviewStage.PEER.value,
                    RequestRow.state != State.REVIEWED.value,
                    ReviewRow.reviewer_id == me.id,
                    RequestRow.requester_id == me.id,
                    operator.exists(),
                )
            )
        return review.exists()

    # -- the rows --------------------------------------------------------------------------

    def _rows(self, session: Session, me: Principal, found: Sequence[RequestRow]) -> list[CaseRow]:
        """The rows of ``found`` as ``me`` may see them, with a few batched look-ups."""
        if not found:
            return []
        people: set[int] = {r.requester_id for r in found}
        people |= {r.run.operator_id for r in found if r.run is not None}
        people |= {v.reviewer_id for r in found for v in r.reviews}
        names: dict[int, str] = {
            uid: name
            for uid, name in session.execute(
                select(User.id, User.username).where(User.id.in_(people))
            )
        }
        slugs: dict[int, str] = {
            aid: slug
            for aid, slug in session.execute(
                select(Agency.id, Agency.slug).where(Agency.id.in_({r.agency_id for r in found}))
            )
        }
        runs = [r.run.id for r in found if r.run is not None]
        counts: dict[int, int] = {
            run_id: n
            for run_id, n in session.execute(
                select(CandidateRow.run_id, func.count(CandidateRow.id))
                .where(CandidateRow.run_id.in_(runs))
                .group_by(CandidateRow.run_id)
            )
        }
        staff = self._access.may(session, me, "request.candidates")
        rows = []
        for row in found:
            reviewers: dict[str, str | None] = {}
            blind = row.state == State.REVIEWED.value and self._access.may(
                session, me, "request.review.peer", row
            )
            if staff and not blind:
                reviewers = {v.stage: names.get(v.reviewer_id) for v in row.reviews}
            run = row.run
            rows.append(
                CaseRow(
                    id=row.id,
                    case_number=row.case_number,
                    agency=slugs.get(row.agency_id),
                    requester=names.get(row.requester_id),
                    offence_code=row.offence_code,
                    offence_class=row.offence_severity or None,
                    legal_basis_kind=row.legal_basis_kind,
                    legal_basis_ids=_basis_ids(row),
                    state=row.state,
                    outcome=row.outcome,
                    disclosure_status=row.disclosure_status,
                    filed_at=_iso(row.created_at),
                    searched_at=_iso(run.finished_at) if run else None,
                    operator=names.get(run.operator_id) if run else None,
                    first_reviewer=reviewers.get(ReviewStage.FIRST.value),
                    peer_reviewer=reviewers.get(ReviewStage.PEER.value),
                    candidate_count=counts.get(run.id, 0) if run else None,
                    released_count=len(row.released_candidate_ids or []),
                    lead_uses=tuple(
                        LeadUseEntry(u.use, u.corroboration_ref, _iso(u.recorded_at))
                        for u in row.lead_uses
                    ),
                )
            )
        return rows


def _loading(query: Select[RequestRow]) -> Select[RequestRow]:
    """Load a page's runs (not their embeddings or faces), reviews and lead uses in a few
    queries."""
    return query.options(
        selectinload(RequestRow.run).load_only(
            SearchRun.id, SearchRun.request_id, SearchRun.operator_id, SearchRun.finished_at
        ),
        selectinload(RequestRow.reviews).load_only(
            ReviewRow.id, ReviewRow.request_id, ReviewRow.reviewer_id, ReviewRow.stage
        ),
        selectinload(RequestRow.lead_uses),
    )


def _user_id(username: str) -> Any:
    return select(User.id).where(User.username == username).scalar_subquery()


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _basis_ids(row: RequestRow) -> dict[str, str]:
    basis = row.legal_basis or {}
    if row.legal_basis_kind == LegalBasisKind.COURT_ORDER.value:
        return {k: str(basis[k]) for k in ("court", "order_id") if basis.get(k)}
    if row.legal_basis_kind == LegalBasisKind.EMERGENCY.value and row.filing_reference:
        return {"filing_reference": row.filing_reference}
    return {}
