"""The access model: every use case asks here, from the registry of actions, who may act.

:class:`Access` reads :mod:`faceledger.governance.actions` (roles, scope, distinct parties,
local operator, unsafe-profile-only) for the acting :data:`Principal`, read again from the
database so a stale login cannot act. The search lifecycle's steps also ask the policy engine
(roles, training, legal basis...); both refuse the same way: the step raises :class:`Refused`
inside its transaction, :meth:`Access.transaction` rolls it back, records the refusal in a
transaction of its own (one ``access.denied`` ledger entry, one violation of a
:class:`~faceledger.governance.violations.ViolationKind`), then raises the error for a person.

An object outside the actor's scope is answered as if it did not exist (404), and the message
reveals nothing about it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from faceledger.errors import FaceLedgerError, NotFound, PermissionDenied, Unauthenticated
from faceledger.governance.accounts import Agency, LocalOperator, Principal, User, UserInfo
from faceledger.governance.actions import ACTIONS, POLICY_ACTIONS, ActionSpec, Party, Scope
from faceledger.governance.context import AgencyKind, Role
from faceledger.governance.lifecycle import State
from faceledger.governance.models import RequestRow
from faceledger.governance.policy import Decision
from faceledger.governance.violations import ViolationKind
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.violations import ViolationLog

if TYPE_CHECKING:
    from faceledger.governance.profiles import Profile
    from faceledger.service.policy import PolicyStore

PENDING_STATES = frozenset({State.DRAFT, State.SUBMITTED, State.DENIED})
"""States in which a request is not (or never was) approved: not for the unit's examiners."""
_DECIDED_BY_POLICY = frozenset(POLICY_ACTIONS.values())


class Refused(Exception):
    """A refusal raised inside a use case's transaction; :meth:`Access.transaction` records
    it."""

    def __init__(
        self,
        action: str,
        error: FaceLedgerError,
        requirements: Sequence[str],
        *,
        request_id: int | None = None,
        decision: Decision | None = None,
        kind: ViolationKind = ViolationKind.DENIED_ACTION,
        record: bool = True,
    ) -> None:
        super().__init__(error.message)
        self.action, self.error, self.requirements = action, error, tuple(requirements)
        self.request_id, self.decision, self.kind, self.record = request_id, decision, kind, record


def _phrase(roles: frozenset[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles)) or "(none)"


def no_such_request(request_id: int) -> NotFound:
    """The one answer for a request that does not exist or is outside the caller's scope."""
    return NotFound(f"There is no search request {request_id}.", request_id=request_id)


_PROFILE_RECOVERY = frozenset({"policy.propose", "policy.approve"})
"""Actions open while the active profile no longer hashes to what was approved (a custom
file edited, or a shipped profile changed by an upgrade): how two admins approve one again."""


class Access:
    """Decides, from the registry, whether a principal may take an action on an object."""

    def __init__(self, ctx: ServiceContext, policy: PolicyStore, violations: ViolationLog) -> None:
        self._ctx, self._policy, self._violations = ctx, policy, violations

    # -- running a use case ----------------------------------------------------------------

    @contextmanager
    def transaction(
        self, acting: Principal, name: str | None = None, *, write: bool = True
    ) -> Iterator[tuple[Session, Principal]]:
        """Open one transaction (a read-only session if not ``write``) for ``acting``, who must
        be allowed action ``name`` if one is given; yield it with the fresh principal.

        A :class:`Refused` raised inside rolls everything back; the refusal is then recorded in
        its own transaction and its error raised.
        """
        try:
            opened = self._ctx.db.transaction() if write else self._ctx.db.read()
            with opened as session:
                fresh = self.require(session, acting, name) if name else self.fresh(session, acting)
                yield session, fresh
        except Refused as refused:
            self.refuse(acting, refused)

    def refuse(self, acting: Principal, refused: Refused) -> NoReturn:
        """Record a refusal decided after its use case's transaction ended, and raise it."""
        if refused.record:
            self._record(acting, refused)
        raise refused.error

    def _record(self, acting: Principal, refused: Refused) -> None:
        with self._ctx.db.transaction() as session:
            extra: dict[str, Any] = {"action": refused.action}
            if refused.decision is not None:
                extra["decision"] = refused.decision.to_dict()
            self._violations.add(
                session,
                kind=refused.kind,
                reason=refused.error.message,
                requirements=refused.requirements,
                actor=acting.ledger_actor,
                request_id=refused.request_id,
                details={"attempted": refused.action, "status": refused.error.status},
                action=LedgerAction.ACCESS_DENIED,
                extra=extra,
            )

    def check(self, acting: Principal, name: str) -> None:
        """Return if ``acting`` may take action ``name`` (no object); otherwise record the
        refusal and raise it. For interface steps that are not a use case of their own."""
        with self.transaction(acting, name, write=False):
            pass

    def allows(self, acting: Principal, name: str) -> bool:
        """Whether ``acting`` may take action ``name`` (no object), recording nothing: what
        interfaces ask before they offer a step."""
        with self._ctx.db.read() as session:
            return self.may(session, acting, name)

    def allowed(self, acting: Principal) -> frozenset[str]:
        """Every action ``acting`` may take on some object (for menus and page gates): those
        without an object as :meth:`may` says, request actions by role, approval and unit."""
        with self._ctx.db.read() as session:
            profile = self._policy.profile(session)
            found = set()
            for name, spec in ACTIONS.items():
                if spec.scope in (Scope.NONE, Scope.OWN_ACCOUNT, Scope.OTHER_ACCOUNT):
                    if self.may(session, acting, name):
                        found.add(name)
                elif self._could(session, acting, spec, profile):
                    found.add(name)
            return frozenset(found)

    def _could(
        self, session: Session, acting: Principal, spec: ActionSpec, profile: Profile
    ) -> bool:
        """Whether ``acting`` could take request action ``spec`` on some request: the
        object-less part of :meth:`may`, and membership of the unit for unit actions."""
        if isinstance(acting, LocalOperator) or not self.may(session, acting, spec.name):
            return False
        if spec.scope in (Scope.UNIT_REQUEST, Scope.UNIT_PENDING_REQUEST):
            return self.in_unit(self.fresh(session, acting), profile)
        return True

    # -- who is acting ---------------------------------------------------------------------

    def fresh(self, session: Session, acting: Principal) -> Principal:
        """Return ``acting`` as the database holds it now (roles, approval, activity).

        Raises:
            Unauthenticated: if the account no longer exists.
        """
        if isinstance(acting, LocalOperator):
            return acting
        user = session.get(User, acting.id)
        if user is None or user.username != acting.username:
            raise Unauthenticated("Your account no longer exists; log in again.")
        return UserInfo.of(user, token_id=acting.token_id)

    def user_row(self, session: Session, acting: Principal) -> User:
        """Return the account row of a person (not the local operator).

        Raises:
            PermissionDenied: for the local operator, who has no account.
        """
        if isinstance(acting, LocalOperator):
            raise PermissionDenied("This needs a person's account; log in first.")
        user = session.get(User, acting.id)
        if user is None:
            raise Unauthenticated("Your account no longer exists; log in again.")
        return user

    # -- the checks ------------------------------------------------------------------------

    def problem(self, session: Session, acting: Principal, spec: ActionSpec) -> str | None:
        """Return why ``acting`` may not take ``spec`` at all (its objects aside), or None."""
        # Loading the profile refuses every action while it no longer hashes to what was
        # approved, except the two admins' way back: proposing and approving one again.
        profile = None if spec.name in _PROFILE_RECOVERY else self._policy.profile(session)
        if spec.unsafe_profile_only and profile is not None and not profile.unsafe:
            return (
                f"The {profile.name} profile refuses {spec.name} ({spec.phrase}): every search "
                f"needs a request with a legal basis ({spec.requirement}). File a request, or "
                "use a data directory under the lab profile for research."
            )
        if acting.is_local:
            if spec.local_operator:
                return None
            return (
                f"A command run on the data directory without a login may not "
                f"{spec.phrase} ({spec.name}); log in."
            )
        if spec.name in _DECIDED_BY_POLICY and spec.scope is not Scope.NONE:
            return None  # the policy engine checks roles, approval and training (R1, R2)
        if not (acting.approved and acting.active):
            return f"Account {acting.username!r} is disabled or not approved (R2)."
        if spec.scope is Scope.OWN_ACCOUNT:
            return None  # decided per account
        if not acting.roles & spec.roles:
            return (
                f"{acting.username} may not {spec.phrase}"
                f" ({spec.name}): it needs one of the roles "
                f"{_phrase(spec.roles)}; {acting.username} has {_phrase(acting.roles)}."
            )
        return None

    def require(self, session: Session, acting: Principal, name: str) -> Principal:
        """Return the fresh principal if it may take action ``name``; else raise
        :class:`Refused` (PermissionDenied, recorded)."""
        spec = ACTIONS[name]
        fresh = self.fresh(session, acting)
        problem = self.problem(session, fresh, spec)
        if problem is not None:
            kind = (
                ViolationKind.FORBIDDEN_ATTEMPT
                if spec.unsafe_profile_only
                else ViolationKind.DENIED_ACTION
            )
            error = PermissionDenied(
                problem,
                action=name,
                roles=sorted(r.value for r in spec.roles),
                requirements=[spec.requirement],
            )
            raise Refused(name, error, [spec.requirement, "R18"], kind=kind)
        return fresh

    def require_account(
        self, session: Session, acting: Principal, name: str, target: User
    ) -> Principal:
        """Like :meth:`require`, for an action on the account ``target`` (own-account and
        other-account scopes, and the account's creator as a distinct party)."""
        fresh = self.require(session, acting, name)
        problem = _account_problem(fresh, ACTIONS[name], target)
        if problem is not None:
            spec = ACTIONS[name]
            error = PermissionDenied(problem, action=name, requirements=[spec.requirement])
            raise Refused(name, error, [spec.requirement, "R18"])
        return fresh

    def may_account(self, session: Session, acting: Principal, name: str, target: User) -> bool:
        """Whether ``acting`` may take ``name`` on account ``target``, recording nothing."""
        return (
            self.may(session, acting, name)
            and _account_problem(self.fresh(session, acting), ACTIONS[name], target) is None
        )

    def require_request(
        self, session: Session, acting: Principal, name: str, row: RequestRow
    ) -> Principal:
        """Like :meth:`require`, for an action on the request ``row``: a request outside the
        caller's sight answers 404; one in sight but outside the action's scope, or whose
        people the caller must differ from, answers 403. Both are recorded, filed under the
        request (a refusal for the role alone as well)."""
        spec = ACTIONS[name]
        try:
            fresh = self.require(session, acting, name)
        except Refused as refused:
            if refused.request_id is None and self.sees(session, acting, row):
                refused.request_id = row.id
            raise
        error = self._request_error(session, fresh, spec, row)
        if isinstance(error, NotFound):
            raise Refused(name, error, [spec.requirement], request_id=row.id)
        if error is not None:
            raise Refused(name, error, [spec.requirement, "R18"], request_id=row.id)
        return fresh

    def _request_error(
        self, session: Session, acting: Principal, spec: ActionSpec, row: RequestRow
    ) -> FaceLedgerError | None:
        """Why ``acting`` may not take ``spec`` on ``row``: NotFound when the request is out
        of sight, PermissionDenied when it is outside the action's scope or the people of the
        request must differ; None if they may."""
        profile = self._policy.profile(session)
        if not self.visible(session, acting, row, profile):
            return no_such_request(row.id)
        problem = self._scope_problem(session, acting, spec, row, profile)
        problem = problem or self._party_problem(session, acting, spec, row)
        if problem is None:
            return None
        return PermissionDenied(
            problem, action=spec.name, request_id=row.id, requirements=[spec.requirement]
        )

    def may(
        self, session: Session, acting: Principal, name: str, row: RequestRow | None = None
    ) -> bool:
        """Whether ``acting`` may take ``name`` (on ``row``), without recording anything."""
        spec = ACTIONS[name]
        try:
            fresh = self.fresh(session, acting)
        except Unauthenticated:
            return False
        if self.problem(session, fresh, spec) is not None:
            return False
        decided = spec.name in _DECIDED_BY_POLICY and not isinstance(fresh, LocalOperator)
        if decided and not (fresh.roles & spec.roles and fresh.active and fresh.approved):
            return False
        return row is None or self._request_error(session, fresh, spec, row) is None

    # -- scope -----------------------------------------------------------------------------

    @staticmethod
    def in_unit(acting: Principal, profile: Profile) -> bool:
        """Whether ``acting`` belongs to one of the profile's operating units."""
        if isinstance(acting, LocalOperator) or acting.agency_kind is not AgencyKind.OPERATING_UNIT:
            return False
        ids = profile.access.operating_agency_ids
        return not ids or acting.agency in ids

    def sees(self, session: Session, acting: Principal, row: RequestRow) -> bool:
        """Whether ``acting`` (as stored now) may know that request ``row`` exists."""
        fresh = self.fresh(session, acting)
        return self.visible(session, fresh, row, self._policy.profile(session))

    def visible(
        self, session: Session, acting: Principal, row: RequestRow, profile: Profile
    ) -> bool:
        """Whether ``acting`` may know that request ``row`` exists."""
        if isinstance(acting, LocalOperator):
            return False
        roles = acting.roles
        agency = session.get(Agency, row.agency_id)
        if Role.REQUESTER in roles and agency is not None and agency.slug == acting.agency:
            return True
        if Role.AUDITOR in roles:
            return True
        unit = self.in_unit(acting, profile)
        if unit and Role.SUPERVISOR in roles:
            return True
        return (
            unit
            and bool(roles & {Role.EXAMINER, Role.REVIEWER})
            and (State(row.state) not in PENDING_STATES)
        )

    def visible_filter(self, session: Session, acting: Principal) -> ColumnElement[bool]:
        """The SQL condition on :class:`RequestRow` of :meth:`visible`, for listing."""
        if isinstance(acting, LocalOperator):
            return false()
        roles, profile = acting.roles, self._policy.profile(session)
        unit = self.in_unit(acting, profile)
        if Role.AUDITOR in roles or (unit and Role.SUPERVISOR in roles):
            return true()
        conditions: list[ColumnElement[bool]] = []
        if Role.REQUESTER in roles:
            own = select(Agency.id).where(Agency.slug == acting.agency).scalar_subquery()
            conditions.append(RequestRow.agency_id == own)
        if unit and roles & {Role.EXAMINER, Role.REVIEWER}:
            conditions.append(RequestRow.state.not_in([s.value for s in PENDING_STATES]))
        return or_(*conditions) if conditions else false()

    def _scope_problem(
        self,
        session: Session,
        acting: Principal,
        spec: ActionSpec,
        row: RequestRow,
        profile: Profile,
    ) -> str | None:
        what = spec.phrase
        if spec.scope is Scope.OWN_AGENCY_REQUEST:
            agency = session.get(Agency, row.agency_id)
            if agency is None or agency.slug != acting.agency:
                return (
                    f"Only officers of the requesting agency may {what} ({spec.name}) for "
                    f"request {row.id}; {acting.username} is of {acting.agency or 'no agency'}."
                )
        if spec.scope in (Scope.UNIT_REQUEST, Scope.UNIT_PENDING_REQUEST):
            if not self.in_unit(acting, profile):
                return (
                    f"Only the operating unit of the {profile.name} profile may {what} "
                    f"({spec.name}); {acting.username} is of {acting.agency or 'no agency'}."
                )
            if spec.scope is Scope.UNIT_REQUEST and State(row.state) in PENDING_STATES:
                return f"Request {row.id} is {row.state}, not approved: nobody may {what} yet."
        return None

    @staticmethod
    def parties(session: Session, row: RequestRow) -> dict[Party, set[int]]:
        """The people of a request, by the part they played."""
        found: dict[Party, set[int]] = {p: set() for p in Party}
        found[Party.REQUESTER].add(row.requester_id)
        if row.run is not None:
            found[Party.OPERATOR].add(row.run.operator_id)
        for review in row.reviews:
            stage = Party.FIRST_REVIEWER if review.stage == "first" else Party.PEER_REVIEWER
            found[stage].add(review.reviewer_id)
        return found

    def _party_problem(
        self, session: Session, acting: Principal, spec: ActionSpec, row: RequestRow
    ) -> str | None:
        if not spec.distinct_from or acting.id is None:
            return None
        people = self.parties(session, row)
        played = [p for p in spec.distinct_from if acting.id in people[p]]
        if not played:
            return None
        parts = " and ".join(p.value.replace("_", " ") for p in played)
        return (
            f"{acting.username} is the {parts} of request {row.id} and may not "
            f"{spec.phrase} too ({spec.name}): "
            "requester, operator, first reviewer and peer reviewer are four different people "
            f"({spec.requirement})."
        )


def _account_problem(acting: Principal, spec: ActionSpec, target: User) -> str | None:
    what = spec.phrase
    own = acting.id == target.id
    if spec.scope is Scope.OWN_ACCOUNT and not own and not acting.roles & spec.roles:
        return (
            f"{acting.username} may not {what} for another account ({spec.name}): it needs one "
            f"of the roles {_phrase(spec.roles)}."
        )
    if spec.scope is Scope.OTHER_ACCOUNT and own:
        return (
            f"{acting.username} may not {what} of their own account ({spec.name}); another "
            f"supervisor must ({spec.requirement})."
        )
    if Party.ACCOUNT_CREATOR in spec.distinct_from and target.created_by_id == acting.id:
        return (
            f"{acting.username} created account {target.username!r} and may not {what} too "
            f"({spec.name}); a second person must ({spec.requirement})."
        )
    return None
