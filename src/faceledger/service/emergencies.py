"""Emergency follow-up (R4, R18): the court filing, a refusal that seals the results, and the
due job that flags and seals emergencies whose filing is overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput
from faceledger.governance.accounts import Principal
from faceledger.governance.context import Action
from faceledger.governance.inputs import check_text
from faceledger.governance.lifecycle import Event, State, allowed_events
from faceledger.governance.models import ProbeImage, RequestRow
from faceledger.governance.policy import Decision
from faceledger.governance.violations import ViolationKind
from faceledger.service import public_record
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.request_core import RequestSteps
from faceledger.service.request_views import RequestView
from faceledger.service.violations import ViolationLog


@dataclass(frozen=True)
class JobReport:
    """What one run of the due jobs did."""

    ran_at: dt.datetime
    flagged: tuple[int, ...]
    """Emergency requests whose overdue filing was recorded as a violation now."""
    sealed: tuple[int, ...]
    """Overdue emergency requests sealed now (candidates and probe deleted, hashes kept)."""
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "ran_at": self.ran_at.isoformat(),
            "flagged": list(self.flagged),
            "sealed": list(self.sealed),
            "ledger_seq": self.ledger_seq,
        }


class EmergencyUseCases:
    """After an emergency search: the court has the last word, and deadlines run by
    themselves."""

    def __init__(self, steps: RequestSteps, violations: ViolationLog) -> None:
        self._steps, self._violations = steps, violations

    def file_emergency_statement(
        self,
        acting: Principal,
        request_id: int,
        reference: str,
        filed_at: dt.datetime | None = None,
    ) -> RequestView:
        """Record the sworn statement filed with the court for an emergency (R4); only an
        officer of the requesting agency records it, and not before the request was filed."""
        now = utcnow()
        when = filed_at or now
        if when.tzinfo is None or when > now + dt.timedelta(minutes=5):
            raise InvalidInput("filed_at must be a time with zone, not in the future.")
        if not reference.strip():
            raise InvalidInput("Give the court's filing reference.", field="reference")
        check_text(reference, "reference")

        steps = self._steps
        with steps.step(acting, "request.file_statement", request_id) as (session, me, row):
            if row.legal_basis_kind != "emergency":
                raise Conflict(f"Request {row.id} is not an emergency request.")
            if row.filed_at is not None:
                raise Conflict(f"The statement for request {row.id} was already filed.")
            if row.state == State.SEALED.value:
                raise Conflict(f"Request {row.id} is sealed; sealing is final.")
            if when < row.created_at:
                raise InvalidInput(
                    f"filed_at {when.isoformat()} is before request {row.id} was filed "
                    f"({row.created_at.isoformat()}).",
                    field="filed_at",
                )
            decision = steps.decide(session, me, Action.FILE_EMERGENCY_STATEMENT, row, now)
            row.filed_at, row.filing_reference = when, reference.strip()
            row.updated_at = now
            deadline = row.filing_deadline
            late = deadline is not None and when > deadline
            due = deadline.isoformat() if deadline else ""
            steps.log(
                session,
                me,
                LedgerAction.REQUEST_EMERGENCY_FILED,
                row,
                {"filed_at": when.isoformat(), "reference": row.filing_reference, "late": late},
                decision,
                public=public_record.emergency_filed(late, when),
            )
            if late:
                self._violations.add(
                    session,
                    kind=ViolationKind.LATE_EMERGENCY_FILING,
                    requirements=["R4", "R18"],
                    reason=f"The court filing for emergency request {row.id} was made at "
                    f"{when.isoformat()}, after its deadline {due}.",
                    actor=me.ledger_actor,
                    request_id=row.id,
                )
        return steps.view_of(me, request_id)

    def record_court_refusal(
        self, acting: Principal, request_id: int, note: str = ""
    ) -> RequestView:
        """The court refused the emergency filing: seal the results and delete linked data."""
        check_text(note, "note", multiline=True)
        steps = self._steps
        with steps.step(acting, "request.court_refused", request_id) as (session, me, row):
            # The time of the step is read once the write lock is held, so steps' times
            # follow the order in which they took effect.
            now = utcnow()
            if row.legal_basis_kind != "emergency":
                raise Conflict(f"Request {row.id} is not an emergency request.")
            row.court_refused = True
            session.flush()
            decision = steps.decide(session, me, Action.SEAL, row, now)
            reason = "The court refused the emergency filing. " + note
            self._seal(session, me, row, now, reason, decision)
        return steps.view_of(me, request_id)

    def _seal(
        self,
        session: Session,
        acting: Principal,
        row: RequestRow,
        now: dt.datetime,
        reason: str,
        decision: Decision | None = None,
    ) -> None:
        """Seal ``row`` (final), delete its linked data and write the ``request.sealed``
        entry, in the caller's transaction."""
        self._steps.move(session, row, Event.SEAL, now)
        row.sealed_at, row.sealed_reason = now, reason.strip()
        # Linked data is deleted: the candidate list, the probe face's embedding and the probe
        # bytes. Their hashes stay in the ledger, so the deletion itself is provable.
        if row.run is not None:
            for candidate in list(row.run.candidates):
                session.delete(candidate)
            row.run.probe_embedding = None
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
        self._steps.log(
            session,
            acting,
            LedgerAction.REQUEST_SEALED,
            row,
            {"reason": row.sealed_reason},
            decision,
        )

    def run_due(self, acting: Principal) -> JobReport:
        """Run the due jobs: every emergency whose court filing is overdue is recorded as a
        violation (once) and sealed (R4, R18): its candidates and probe are deleted, their
        hashes stay in the ledger, and its reviews stop. The run and each effect are in the
        ledger. ``faceledger serve`` runs this by itself; ``faceledger jobs run-due`` from cron.

        Raises:
            PermissionDenied: without ``jobs.run_due`` (recorded).
        """
        now, steps = utcnow(), self._steps
        with steps.access.transaction(acting, "jobs.run_due") as (session, me):
            overdue = session.scalars(
                select(RequestRow)
                .where(
                    RequestRow.legal_basis_kind == "emergency",
                    RequestRow.filed_at.is_(None),
                    RequestRow.filing_deadline.is_not(None),
                    RequestRow.filing_deadline < now,
                    RequestRow.state.not_in(
                        [State.DENIED.value, State.SUBMITTED.value, State.SEALED.value]
                    ),
                )
                .order_by(RequestRow.id)
            ).all()
            flagged, sealed = [], []
            for row in overdue:
                assert row.filing_deadline is not None
                due = row.filing_deadline.isoformat()
                if not row.overdue_flagged:
                    row.overdue_flagged = True
                    self._violations.add(
                        session,
                        kind=ViolationKind.OVERDUE_EMERGENCY_FILING,
                        requirements=["R4", "R18"],
                        reason=f"The court filing for emergency request {row.id} (case "
                        f"{row.case_number}) was due at {due} and has not been made.",
                        actor=me.ledger_actor,
                        request_id=row.id,
                    )
                    flagged.append(row.id)
                if Event.SEAL in allowed_events(row.state):
                    reason = f"The court filing was due at {due} and was not made (R4)."
                    self._seal(session, me, row, now, reason)
                    sealed.append(row.id)
            entry = steps.ctx.ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.JOBS_RUN,
                object_type="jobs",
                object_id="run_due",
                payload={"ran_at": now.isoformat(), "flagged": flagged, "sealed": sealed},
            )
        return JobReport(now, tuple(flagged), tuple(sealed), entry.seq)
