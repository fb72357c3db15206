"""Policy: the active profile and its engine (:class:`PolicyStore`, used inside other use
cases' transactions) and changing it, an admin action (:class:`PolicyUseCases`)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from faceledger.governance.accounts import Principal
from faceledger.governance.models import PolicyState
from faceledger.governance.policy import PolicyEngine, UnsafeProfileWarning
from faceledger.governance.profiles import Profile, load_profile
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction

if TYPE_CHECKING:
    from faceledger.service.access import Access


class PolicyStore:
    """Which profile is active, and its engine (one per profile, built once)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._engines: dict[str, PolicyEngine] = {}

    def initialise(self, actor: str) -> None:
        """Record the configured profile as active on a new installation."""
        with self._ctx.db.transaction() as session:
            if session.get(PolicyState, 1) is None:
                self.activate(session, actor, load_profile(self._ctx.settings.policy_profile))

    def engine(self, session: Session) -> PolicyEngine:
        """Return the policy engine of the active profile."""
        state = session.get(PolicyState, 1)
        name = state.profile_name if state else self._ctx.settings.policy_profile
        if name not in self._engines:
            with warnings.catch_warnings():
                # An unsafe profile is announced in every output and ledger entry instead.
                warnings.simplefilter("ignore", UnsafeProfileWarning)
                self._engines[name] = PolicyEngine(load_profile(name))
        return self._engines[name]

    def profile(self, session: Session) -> Profile:
        """Return the active profile."""
        return self.engine(session).profile

    def notice(self, session: Session) -> dict[str, Any]:
        """Return what every ledger entry and output says about the active profile."""
        profile = self.profile(session)
        notice: dict[str, Any] = {"name": profile.name, "sha256": profile.sha256}
        if profile.unsafe:
            notice["unsafe"] = True
            notice["banner"] = profile.unsafe_banner
        return notice

    def activate(self, session: Session, actor: str, profile: Profile) -> None:
        """Make ``profile`` active, with its ledger entry, in the caller's transaction."""
        state = session.get(PolicyState, 1)
        previous = (
            None if state is None else {"name": state.profile_name, "sha256": state.profile_sha256}
        )
        if state is None:
            state = PolicyState(
                id=1, profile_name=profile.name, profile_sha256=profile.sha256, changed_by=actor
            )
            session.add(state)
        else:
            state.profile_name, state.profile_sha256 = profile.name, profile.sha256
            state.changed_by = actor
        session.flush()
        payload: dict[str, Any] = {
            "profile": {"name": profile.name, "sha256": profile.sha256},
            "previous": previous,
        }
        if profile.unsafe:
            payload["banner"] = profile.unsafe_banner
        self._ctx.ledger.append(
            session,
            actor=actor,
            action=LedgerAction.POLICY_PROFILE_SET,
            object_type="policy",
            object_id=profile.name,
            payload=payload,
        )


class PolicyUseCases:
    """Reading and changing the active policy profile."""

    def __init__(self, ctx: ServiceContext, store: PolicyStore, access: Access) -> None:
        self._ctx, self._store, self._access = ctx, store, access

    def active_profile(self) -> Profile:
        """Return the active policy profile (public: every page shows it)."""
        with self._ctx.db.read() as session:
            return self._store.profile(session)

    def set_profile(self, acting: Principal, name: str) -> Profile:
        """Make ``name`` the active profile (admins only); recorded in the ledger.

        Raises:
            PermissionDenied: unless ``acting`` is an admin (recorded).
            ConfigError: for an unknown or malformed profile.
        """
        with self._access.transaction(acting, "policy.propose") as (session, fresh):
            profile = load_profile(name)
            self._store.activate(session, fresh.ledger_actor, profile)
            return profile

    def profile_history(self) -> list[dict[str, Any]]:
        """Return every profile change recorded in the ledger, oldest first."""
        with self._ctx.db.read() as session:
            entries = self._ctx.ledger.query(
                session, action=LedgerAction.POLICY_PROFILE_SET, limit=10_000
            )
        return [
            {"seq": e.seq, "ts": e.ts.isoformat(), "actor": e.actor, "object_id": e.object_id}
            for e in entries
        ]
