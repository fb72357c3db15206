"""Violations (R18): attempted forbidden actions and missed obligations, for supervisors and
auditors. Each is stored and written to the ledger in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceledger.errors import InvalidInput, PermissionDenied
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import Role
from faceledger.governance.models import ViolationRow
from faceledger.service.core import ServiceCore

VIEWERS = frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})


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


class ViolationUseCases(ServiceCore):
    """Recording and listing violations."""

    def add_violation(
        self,
        session: Session,
        *,
        kind: str,
        reason: str,
        requirements: Sequence[str],
        actor: str,
        request_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> ViolationRow:
        """Store a violation and its ledger entry inside the caller's transaction."""
        row = ViolationRow(
            kind=kind,
            reason=reason,
            requirements=list(requirements),
            actor=actor,
            request_id=request_id,
            details=details or {},
        )
        session.add(row)
        session.flush()
        entry = self.ledger.append(
            session,
            actor=actor,
            action="violation.recorded",
            object_type="violation",
            object_id=str(row.id),
            payload={
                "kind": kind,
                "reason": reason,
                "requirements": list(requirements),
                "request_id": request_id,
                "details": details or {},
            },
        )
        row.ledger_seq = entry.seq
        return row

    def record_denied(
        self,
        acting: UserInfo,
        attempted: str,
        reason: str,
        requirements: Sequence[str],
        request_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> ViolationView:
        """Record a refused attempt (wrong role, denied by policy) in its own transaction."""
        with self.db.transaction() as session:
            row = self.add_violation(
                session,
                kind="denied_action",
                reason=reason,
                requirements=requirements,
                actor=acting.ledger_actor,
                request_id=request_id,
                details={"attempted": attempted, **(details or {})},
            )
            return _view(row)

    def list_violations(
        self, acting: UserInfo, kind: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[ViolationView], int]:
        """Return violations newest first and the total count (supervisors, auditors, admins).

        Raises:
            PermissionDenied: for other roles.
        """
        if not VIEWERS & acting.roles:
            raise PermissionDenied("Only supervisors, auditors and admins may list violations.")
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidInput("limit must be 1-1000 and offset not negative.")
        with self.db.read() as session:
            query = select(ViolationRow)
            if kind:
                query = query.where(ViolationRow.kind == kind)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(ViolationRow.id.desc()).limit(limit).offset(offset)
            )
            return [_view(r) for r in rows], total
