"""Shared plumbing of the request use cases: policy checks inside the step's transaction,
recorded denials, the context the rules see, state moves and ledger entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from faceledger.errors import Conflict, NotFound
from faceledger.governance.accounts import Agency, User, UserInfo
from faceledger.governance.context import (
    Action,
    Actor,
    CandidateMark,
    LeadUse,
    PolicyContext,
    ProbeSource,
    Release,
    Review,
    ReviewOutcome,
    ReviewStage,
    SearchRequest,
)
from faceledger.governance.forms import (
    EmergencyState,
    attestation_of,
    legal_basis_of,
)
from faceledger.governance.lifecycle import Event, State, transition
from faceledger.governance.models import (
    RequestRow,
)
from faceledger.governance.policy import Decision
from faceledger.governance.violations import violation_from_decision
from faceledger.service.policy import PolicyUseCases
from faceledger.service.request_views import RequestView, request_view, username_of
from faceledger.service.searches import SearchUseCases

T = TypeVar("T")


class _Denied(Exception):
    def __init__(self, decision: Decision, request_id: int | None) -> None:
        super().__init__(decision.reasons)
        self.decision = decision
        self.request_id = request_id


class RequestCore(SearchUseCases, PolicyUseCases):
    """What every step of the search lifecycle shares."""

    # -- plumbing ---------------------------------------------------------------------------

    def _guarded(self, acting: UserInfo, request_id: int | None, step: Callable[[Session], T]) -> T:
        """Run ``step`` in one transaction; a policy denial rolls it back and is recorded."""
        try:
            with self.db.transaction() as session:
                return step(session)
        except _Denied as denied:
            self._record_denial(acting, denied.decision, denied.request_id)
            denied.decision.raise_for_denial()
            raise  # unreachable: raise_for_denial raises for a denied decision

    def _record_denial(self, acting: UserInfo, decision: Decision, request_id: int | None) -> None:
        with self.db.transaction() as session:
            payload = {"decision": decision.to_dict(), "request_id": request_id}
            self.ledger.append(
                session,
                actor=acting.ledger_actor,
                action="policy.denied",
                object_type="request",
                object_id=str(request_id or "new"),
                payload=payload,
            )
            self._violation_of(session, acting, decision, request_id)
            if request_id is not None and decision.action is Action.SUBMIT:
                row = self._row(session, request_id)
                row.decision = decision.to_dict()

    def _violation_of(
        self, session: Session, acting: UserInfo, decision: Decision, request_id: int | None
    ) -> None:
        """Store the violation a denied decision amounts to (R18), if it is one."""
        violation = violation_from_decision(decision)
        if violation is not None:
            self.add_violation(
                session,
                kind=str(violation.kind),
                reason=violation.reason,
                requirements=violation.requirements,
                actor=acting.ledger_actor,
                request_id=request_id,
                details={"action": str(decision.action)},
            )

    def _decide(
        self,
        session: Session,
        acting: UserInfo,
        action: Action,
        request: SearchRequest,
        now: dt.datetime,
        *,
        request_id: int | None,
        release: Release | None = None,
        lead_use: LeadUse | None = None,
    ) -> Decision:
        ctx = PolicyContext(
            action=action,
            actor=self._fresh_actor(session, acting),
            request=request,
            now=now,
            release=release,
            lead_use=lead_use,
        )
        decision = self.engine(session).evaluate(ctx)
        if not decision.allowed:
            raise _Denied(decision, request_id)
        return decision

    @staticmethod
    def _fresh_actor(session: Session, acting: UserInfo) -> Actor:
        # Decide on the account as it is now (disabled, training lapsed), not as logged in.
        user = session.get(User, acting.id)
        if user is None:
            raise NotFound(f"There is no user {acting.username!r}.")
        return UserInfo.of(user).actor()

    def _row(self, session: Session, request_id: int) -> RequestRow:
        row = session.get(RequestRow, request_id)
        if row is None:
            raise NotFound(f"There is no search request {request_id}.", request_id=request_id)
        return row

    def _context_request(self, session: Session, row: RequestRow) -> SearchRequest:
        agency = session.get(Agency, row.agency_id)
        emergency = EmergencyState(
            username_of(session, row.approving_supervisor_id),
            row.filing_deadline,
            row.filed_at,
            row.court_refused,
        )
        reviews = tuple(
            Review(
                username_of(session, r.reviewer_id) or "",
                ReviewStage(r.stage),
                tuple(
                    CandidateMark(
                        str(m["candidate_id"]), ReviewOutcome(m["outcome"]), m.get("note", "")
                    )
                    for m in r.marks
                ),
            )
            for r in row.reviews
        )
        return SearchRequest(
            request_id=str(row.id),
            requester_id=username_of(session, row.requester_id) or "",
            requesting_agency_id=agency.slug if agency else "",
            case_number=row.case_number,
            offence_code=row.offence_code,
            narrative=row.narrative,
            legal_basis=legal_basis_of(row.legal_basis_kind, row.legal_basis, emergency),
            probe_source=ProbeSource(row.probe_source),
            attestation=attestation_of(row.attestation),
            galleries=tuple(row.galleries),
            max_candidates=row.max_candidates,
            operator_id=username_of(session, row.run.operator_id) if row.run else None,
            reviews=reviews,
        )

    def _move(self, session: Session, row: RequestRow, event: Event, now: dt.datetime) -> str:
        before = row.state
        row.state = transition(State(row.state), event).value
        row.updated_at = now
        session.flush()
        return before

    def _log(
        self,
        session: Session,
        acting: UserInfo,
        action: str,
        row: RequestRow,
        payload: dict[str, Any],
        decision: Decision | None = None,
    ) -> int:
        body = {
            "request_id": row.id,
            "case_number": row.case_number,
            "state": row.state,
            "profile": self.profile_notice(session),
            **payload,
        }
        if decision is not None:
            body["decision"] = decision.to_dict()
        entry = self.ledger.append(
            session,
            actor=acting.ledger_actor,
            action=action,
            object_type="request",
            object_id=str(row.id),
            payload=body,
        )
        return entry.seq

    def _view(self, session: Session, acting: UserInfo, row: RequestRow) -> RequestView:
        return request_view(session, acting, row, self.engine(session).profile)

    @staticmethod
    def _require_state(row: RequestRow, wanted: Sequence[State], doing: str) -> None:
        """Refuse a step the request's state does not allow, naming both."""
        if State(row.state) not in wanted:
            raise Conflict(
                f"Cannot {doing}: request {row.id} is {row.state}, not "
                f"{' or '.join(s.value for s in wanted)}.",
                request_id=row.id,
                state=row.state,
            )

    def _decide_readonly(
        self, session: Session, acting: UserInfo, action: Action, row: RequestRow, now: dt.datetime
    ) -> None:
        try:
            self._decide(
                session, acting, action, self._context_request(session, row), now, request_id=row.id
            )
        except _Denied as denied:
            self._record_denial(acting, denied.decision, row.id)
            denied.decision.raise_for_denial()
