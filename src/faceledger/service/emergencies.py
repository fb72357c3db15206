"""Emergency follow-up (R4, R18): the court filing, a refusal that seals the results, and
the job that flags overdue filings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput, PermissionDenied
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import (
    Action,
    Role,
)
from faceledger.governance.lifecycle import Event, State
from faceledger.governance.models import (
    ProbeImage,
    RequestRow,
)
from faceledger.service.request_core import RequestCore
from faceledger.service.request_views import RequestView


class EmergencyUseCases(RequestCore):
    """After an emergency search: the court has the last word."""

    def file_emergency_statement(
        self, acting: UserInfo, request_id: int, reference: str, filed_at: dt.datetime | None = None
    ) -> RequestView:
        """Record the sworn statement filed with the court for an emergency (R4)."""
        now = utcnow()
        when = filed_at or now
        if when.tzinfo is None or when > now + dt.timedelta(minutes=5):
            raise InvalidInput("filed_at must be a time with zone, not in the future.")
        if not reference.strip():
            raise InvalidInput("Give the court's filing reference.", field="reference")

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            if row.legal_basis_kind != "emergency":
                raise Conflict(f"Request {row.id} is not an emergency request.")
            if row.filed_at is not None:
                raise Conflict(f"The statement for request {row.id} was already filed.")
            decision = self._decide(
                session,
                acting,
                Action.FILE_EMERGENCY_STATEMENT,
                self._context_request(session, row),
                now,
                request_id=row.id,
            )
            row.filed_at, row.filing_reference = when, reference.strip()
            row.updated_at = now
            deadline = row.filing_deadline
            late = deadline is not None and when > deadline
            due = deadline.isoformat() if deadline else ""
            self._log(
                session,
                acting,
                "request.emergency_filed",
                row,
                {"filed_at": when.isoformat(), "reference": row.filing_reference, "late": late},
                decision,
            )
            if late:
                self.add_violation(
                    session,
                    kind="late_emergency_filing",
                    requirements=["R4", "R18"],
                    reason=f"The court filing for emergency request {row.id} was made at "
                    f"{when.isoformat()}, after its deadline {due}.",
                    actor=acting.ledger_actor,
                    request_id=row.id,
                )
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    def record_court_refusal(
        self, acting: UserInfo, request_id: int, note: str = ""
    ) -> RequestView:
        """The court refused the emergency filing: seal the results and delete linked data."""
        now = utcnow()

        def step(session: Session) -> RequestView:
            row = self._row(session, request_id)
            if row.legal_basis_kind != "emergency":
                raise Conflict(f"Request {row.id} is not an emergency request.")
            row.court_refused = True
            session.flush()
            decision = self._decide(
                session,
                acting,
                Action.SEAL,
                self._context_request(session, row),
                now,
                request_id=row.id,
            )
            self._seal(session, row, now, "The court refused the emergency filing. " + note)
            self._log(
                session, acting, "request.sealed", row, {"reason": row.sealed_reason}, decision
            )
            return self._view(session, acting, row)

        return self._guarded(acting, request_id, step)

    def _seal(self, session: Session, row: RequestRow, now: dt.datetime, reason: str) -> None:
        self._move(session, row, Event.SEAL, now)
        row.sealed_at, row.sealed_reason = now, reason.strip()
        # Linked data is deleted: the candidate list and the probe bytes. Their hashes stay in
        # the ledger, so the deletion itself is provable.
        if row.run is not None:
            for candidate in list(row.run.candidates):
                session.delete(candidate)
        probe = session.get(ProbeImage, row.probe_sha256)
        others = session.scalar(
            select(RequestRow.id)
            .where(
                RequestRow.probe_sha256 == row.probe_sha256,
                RequestRow.id != row.id,
                RequestRow.sealed_at.is_(None),
            )
            .limit(1)
        )
        if probe is not None and others is None:
            probe.data, probe.deleted_at = None, now
        session.flush()

    def flag_overdue_emergencies(self, acting: UserInfo | None = None) -> list[int]:
        """Record a violation for each emergency whose court filing is overdue (R4, R18);
        each request is flagged once. Returns the request ids flagged now.

        ``acting`` is the supervisor or admin who runs the check; None for the scheduler.

        Raises:
            PermissionDenied: for any other role.
        """
        now = utcnow()
        actor = "system:scheduler"
        if acting is not None:
            if not acting.roles & {Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR}:
                raise PermissionDenied(
                    "Only supervisors, auditors and admins may run the overdue-filing check."
                )
            actor = acting.ledger_actor
        flagged = []
        with self.db.transaction() as session:
            rows = session.scalars(
                select(RequestRow).where(
                    RequestRow.legal_basis_kind == "emergency",
                    RequestRow.filed_at.is_(None),
                    RequestRow.filing_deadline.is_not(None),
                    RequestRow.filing_deadline < now,
                    RequestRow.overdue_flagged.is_(False),
                    RequestRow.state.not_in([State.DENIED.value, State.SUBMITTED.value]),
                )
            )
            for row in rows:
                row.overdue_flagged = True
                assert row.filing_deadline is not None
                self.add_violation(
                    session,
                    kind="overdue_emergency_filing",
                    requirements=["R4", "R18"],
                    reason=f"The court filing for emergency request {row.id} (case "
                    f"{row.case_number}) was due at {row.filing_deadline.isoformat()} and has "
                    "not been made.",
                    actor=actor,
                    request_id=row.id,
                )
                flagged.append(row.id)
        return flagged
