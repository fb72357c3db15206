"""Violations (R18): attempted forbidden actions and missed obligations, for supervisors and
auditors. :class:`ViolationLog` stores one inside a use case's transaction with its ledger
entry and raises its alert; :class:`ViolationUseCases` lists them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceledger.governance.accounts import Agency, Principal, User
from faceledger.governance.models import RequestRow, ViolationRow
from faceledger.governance.violations import ViolationKind
from faceledger.ledger import Ledger
from faceledger.service import public_record
from faceledger.service.alert_inbox import AlertInbox
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.paging import check_page

if TYPE_CHECKING:
    from faceledger.service.access import Access


@dataclass(frozen=True)
class ViolationView:
    """A violation as shown to supervisors and auditors."""

    id: int
    kind: str
    requirements: tuple[str, ...]
    reason: str
    actor: str
    request_id: int | None
    created_at: str
    ledger_seq: int
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the violation as JSON-ready data."""
        return {**self.__dict__, "requirements": list(self.requirements)}


def _view(row: ViolationRow) -> ViolationView:
    return ViolationView(
        row.id,
        row.kind,
        tuple(row.requirements),
        row.reason,
        row.actor,
        row.request_id,
        row.created_at.isoformat(),
        row.ledger_seq,
        dict(row.details),
    )


class ViolationLog:
    """Stores violations, each with its ledger entry, inside the caller's transaction."""

    def __init__(self, ledger: Ledger, inbox: AlertInbox) -> None:
        self._ledger, self._inbox = ledger, inbox

    def add(
        self,
        session: Session,
        *,
        kind: ViolationKind,
        reason: str,
        requirements: Sequence[str],
        actor: str,
        request_id: int | None = None,
        details: dict[str, Any] | None = None,
        action: LedgerAction = LedgerAction.VIOLATION_RECORDED,
        extra: dict[str, Any] | None = None,
    ) -> ViolationRow:
        """Store a violation and its one ledger entry (``action``; ``extra`` joins its payload).

        The entry is filed under the request when there is one (so a request's history shows
        the refused attempts on it), else under the violation."""
        agency = _agency_of(session, request_id, actor)
        row = ViolationRow(
            kind=str(kind),
            reason=reason,
            requirements=list(requirements),
            actor=actor,
            request_id=request_id,
            details=details or {},
        )
        session.add(row)
        session.flush()
        entry = self._ledger.append(
            session,
            actor=actor,
            action=action,
            object_type="request" if request_id is not None else "violation",
            object_id=str(request_id if request_id is not None else row.id),
            payload={
                "violation_id": row.id,
                "kind": str(kind),
                "reason": reason,
                "requirements": list(requirements),
                "request_id": request_id,
                "details": details or {},
                **(extra or {}),
            },
            public=public_record.violation(kind, agency),
        )
        row.ledger_seq = entry.seq
        self._inbox.raise_for_violation(session, row)  # R18: supervisors and auditors are told
        return row


def _agency_of(session: Session, request_id: int | None, actor: str) -> str | None:
    """The slug of the agency a violation belongs to: the request's, else the actor's."""
    if request_id is not None:
        return session.scalar(
            select(Agency.slug)
            .join(RequestRow, RequestRow.agency_id == Agency.id)
            .where(RequestRow.id == request_id)
        )
    if actor.startswith("user:"):
        username = actor.removeprefix("user:").split("+", 1)[0]
        return session.scalar(
            select(Agency.slug)
            .join(User, User.agency_id == Agency.id)
            .where(User.username == username)
        )
    return None


class ViolationUseCases:
    """Listing violations."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access = ctx, access

    def list_violations(
        self, acting: Principal, kind: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[ViolationView], int]:
        """Return violations newest first and the total count.

        Raises:
            PermissionDenied: without ``violations.read`` (recorded).
            InvalidInput: for a limit outside 1-1000 or a negative offset.
        """
        check_page(limit, offset)

        with self._access.transaction(acting, "violations.read", write=False) as (session, _):
            query = select(ViolationRow)
            if kind:
                query = query.where(ViolationRow.kind == kind)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(ViolationRow.id.desc()).limit(limit).offset(offset)
            )
            return [_view(r) for r in rows], total
