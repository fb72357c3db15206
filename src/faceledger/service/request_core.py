"""What every step of the search lifecycle shares (:class:`RequestSteps`): the step's one
transaction with the registry and the policy engine asked inside it, the context the rules
see, exactly-once state moves, ledger entries, and the view each caller may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict
from faceledger.governance import outcomes
from faceledger.governance.accounts import Agency, LocalOperator, Principal, User, UserInfo
from faceledger.governance.actions import POLICY_ACTIONS
from faceledger.governance.context import (
    Action,
    Actor,
    AgencyKind,
    CandidateMark,
    LeadUse,
    LegalBasisKind,
    Outcome,
    PolicyContext,
    ProbeSource,
    Release,
    Review,
    ReviewOutcome,
    ReviewStage,
    SearchRequest,
)
from faceledger.governance.forms import EmergencyState, attestation_of, legal_basis_of
from faceledger.governance.lifecycle import Event, State, allowed_events, transition
from faceledger.governance.models import RequestRow
from faceledger.governance.policy import Decision
from faceledger.governance.violations import FORBIDDEN_USE_REQUIREMENTS, ViolationKind
from faceledger.service import public_record
from faceledger.service.access import Access, Refused, no_such_request
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.policy import PolicyStore
from faceledger.service.request_views import RequestView, request_view, username_of

_LOCAL_ACTOR = Actor(
    user_id="",
    roles=frozenset(),
    agency_id="",
    agency_kind=AgencyKind.REQUESTING_AGENCY,
    account_approved=False,
    active=False,
)


class RequestSteps:
    """The shared plumbing of the request use cases, handed to each of them."""

    def __init__(self, ctx: ServiceContext, access: Access, policy: PolicyStore) -> None:
        self.ctx, self.access, self.policy = ctx, access, policy

    # -- one step, one transaction ---------------------------------------------------------

    @contextmanager
    def step(
        self,
        acting: Principal,
        name: str | Callable[[RequestRow], str],
        request_id: int,
        *,
        write: bool = True,
    ) -> Iterator[tuple[Session, Principal, RequestRow]]:
        """Open the transaction of registry action ``name`` on request ``request_id`` (or of
        the action ``name(row)`` picks from the request as this transaction reads it).

        Yields the session, the acting principal as stored now, and the request row, once the
        registry allows the action on that request. A refusal raised inside (registry or
        policy) rolls everything back and is recorded; a request outside the caller's sight
        answers 404 like one that does not exist.
        """
        with self.access.transaction(acting, write=write) as (session, fresh):
            row = session.get(RequestRow, request_id)
            if row is None:
                raise no_such_request(request_id)
            chosen = name if isinstance(name, str) else name(row)
            self.access.require_request(session, fresh, chosen, row)
            yield session, fresh, row

    def decide(
        self,
        session: Session,
        acting: Principal,
        action: Action,
        row: RequestRow,
        now: dt.datetime,
        *,
        release: Release | None = None,
        lead_use: LeadUse | None = None,
    ) -> Decision:
        """Ask the policy engine; a denial raises :class:`Refused` carrying the decision."""
        decision = self.evaluate(
            session, acting, action, self.context_request(session, row), now, release, lead_use
        )
        if not decision.allowed:
            raise self.refusal(decision, row.id)
        return decision

    def evaluate(
        self,
        session: Session,
        acting: Principal,
        action: Action,
        request: SearchRequest,
        now: dt.datetime,
        release: Release | None = None,
        lead_use: LeadUse | None = None,
    ) -> Decision:
        """Return the policy decision on ``action`` for ``acting`` (as stored now)."""
        ctx = PolicyContext(
            action=action,
            actor=self.actor(session, acting),
            request=request,
            now=now,
            release=release,
            lead_use=lead_use,
        )
        return self.policy.engine(session).evaluate(ctx)

    @staticmethod
    def refusal(decision: Decision, request_id: int | None) -> Refused:
        """The :class:`Refused` of a denied decision (a forbidden attempt where R7/R8 failed)."""
        failed = {f.requirement for f in decision.failures if f.requirement}
        forbidden = bool(failed & FORBIDDEN_USE_REQUIREMENTS)
        error = decision.denial()
        return Refused(
            POLICY_ACTIONS[decision.action],
            error,
            sorted(failed | {"R18"}),
            request_id=request_id,
            decision=decision,
            kind=ViolationKind.FORBIDDEN_ATTEMPT if forbidden else ViolationKind.DENIED_ACTION,
        )

    @staticmethod
    def actor(session: Session, acting: Principal) -> Actor:
        """The person as the policy rules see them, read again (disabled, training lapsed)."""
        if isinstance(acting, LocalOperator):
            return _LOCAL_ACTOR
        user = session.get(User, acting.id)
        if user is None:
            return _LOCAL_ACTOR
        return UserInfo.of(user).actor()

    # -- what the rules see ----------------------------------------------------------------

    def context_request(self, session: Session, row: RequestRow) -> SearchRequest:
        """The request as the policy rules see it."""
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

    # -- state moves and records -----------------------------------------------------------

    @staticmethod
    def require_state(row: RequestRow, wanted: Sequence[State], doing: str) -> None:
        """Refuse a step the request's state does not allow, naming both (409)."""
        if State(row.state) not in wanted:
            raise Conflict(
                f"Cannot {doing}: request {row.id} is {row.state}, not "
                f"{' or '.join(s.value for s in wanted)}.",
                request_id=row.id,
                state=row.state,
            )

    @staticmethod
    def move(session: Session, row: RequestRow, event: Event, now: dt.datetime) -> str:
        """Move ``row`` by ``event`` as a compare-and-set on its state; return the old state.

        The UPDATE is guarded by the state this transaction read, so of two concurrent steps
        only one moves the request; the other answers 409 and writes nothing.

        Raises:
            Conflict: if the event does not apply, or the request moved meanwhile.
        """
        before = row.state
        after = transition(State(before), event).value
        outcome = outcomes.after_event(Outcome(row.outcome), event).value
        moved = session.execute(
            update(RequestRow)
            .where(RequestRow.id == row.id, RequestRow.state == before)
            .values(state=after, outcome=outcome, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                f"Request {row.id} changed while this step ran; it is no longer {before}. "
                "Reload it and try again.",
                request_id=row.id,
            )
        session.refresh(row)
        return before

    def log(
        self,
        session: Session,
        acting: Principal,
        action: LedgerAction,
        row: RequestRow,
        payload: dict[str, Any],
        decision: Decision | None = None,
        public: dict[str, Any] | None = None,
    ) -> int:
        """Append the step's ledger entry (request id, case, state, profile) and return its seq.

        The entry's public fields are the state and outcome after the step, plus ``public``
        (see :mod:`faceledger.service.public_record`)."""
        body = {
            "request_id": row.id,
            "case_number": row.case_number,
            "state": row.state,
            "profile": self.policy.notice(session),
            **payload,
        }
        if decision is not None:
            body["decision"] = decision.to_dict()
        entry = self.ctx.ledger.append(
            session,
            actor=acting.ledger_actor,
            action=action,
            object_type="request",
            object_id=str(row.id),
            payload=body,
            public=public_record.request_step(row, **(public or {})),
        )
        return entry.seq

    def allowed_actions(
        self, session: Session, acting: Principal, row: RequestRow, now: dt.datetime
    ) -> tuple[str, ...]:
        """The registry actions ``acting`` may take next on ``row``: the state accepts them,
        the registry allows them, and (for steps the policy decides on the request alone) the
        policy engine would allow them now. Interfaces offer exactly these."""
        allowed = []
        for name, fits in _NEXT_STEPS.items():
            if not fits(row) or not self.access.may(session, acting, name, row):
                continue
            action = _POLICY_STEP.get(name)
            if action is not None:
                request = self.context_request(session, row)
                if not self.evaluate(session, acting, action, request, now).allowed:
                    continue
            allowed.append(name)
        if row.state != State.SEALED.value:
            allowed += [n for n in _SEEING if self.access.may(session, acting, n, row)]
        allowed += [n for n in _REPORTING if self.access.may(session, acting, n, row)]
        return tuple(allowed)

    def view_of(self, acting: Principal, request_id: int) -> RequestView:
        """The request as ``acting`` may see it now, read after a step committed: the view is
        built outside the step's write transaction, which then holds SQLite's lock no longer
        than the change itself."""
        with self.ctx.db.read() as session:
            row = session.get(RequestRow, request_id)
            if row is None:
                raise no_such_request(request_id)
            return self.view(session, acting, row)

    def view(self, session: Session, acting: Principal, row: RequestRow) -> RequestView:
        """The request as ``acting`` may see it, with the actions they may take next."""
        allowed = self.allowed_actions(session, acting, row, utcnow())
        return request_view(
            session, acting, row, self.policy.profile(session), self.access, allowed
        )


def _accepts(event: Event) -> Callable[[RequestRow], bool]:
    return lambda row: event in allowed_events(row.state)


def _emergency(row: RequestRow) -> bool:
    return row.legal_basis_kind == LegalBasisKind.EMERGENCY.value


_NEXT_STEPS: dict[str, Callable[[RequestRow], bool]] = {
    "request.approve_emergency": lambda r: _emergency(r) and _accepts(Event.APPROVE_EMERGENCY)(r),
    "request.search": _accepts(Event.RUN_SEARCH),
    "request.review.first": _accepts(Event.FIRST_REVIEW),
    "request.review.peer": _accepts(Event.PEER_REVIEW),
    "request.release": lambda r: _accepts(Event.RELEASE)(r) and bool(agreed_candidates(r)),
    "request.close": _accepts(Event.CLOSE_NO_LEAD),
    "request.lead_use": lambda r: r.state == State.RELEASED.value,
    "request.file_statement": lambda r: (
        _emergency(r)
        and r.filed_at is None
        and r.state not in (State.DENIED.value, State.SEALED.value)
    ),
    "request.court_refused": lambda r: _emergency(r) and _accepts(Event.SEAL)(r),
}
"""Each request step and whether a request's state (and kind) accepts it."""

_SEEING = ("request.probe", "request.candidates")
"""Actions of seeing a request's images, offered while it is not sealed."""
_REPORTING = ("report.disclosure",)
"""Accountability outputs on a request, offered in every state (a sealed request's packet
proves its entries without their payloads)."""


def agreed_candidates(row: RequestRow) -> list[int]:
    """The candidates every review of ``row`` marked possible_lead (what a release shows)."""
    if not row.reviews:
        return []
    leads = [
        {m["candidate_id"] for m in r.marks if m["outcome"] == "possible_lead"} for r in row.reviews
    ]
    return sorted(set.intersection(*leads))


_POLICY_STEP = {
    name: action
    for action, name in POLICY_ACTIONS.items()
    if action
    in (Action.APPROVE_EMERGENCY, Action.RUN_SEARCH, Action.FIRST_REVIEW, Action.PEER_REVIEW)
}
"""Steps whose policy decision depends on the request alone, checked before offering them."""
