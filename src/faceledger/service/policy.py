"""Policy use cases: the active profile, its engine, and changing it (an admin action)."""

from __future__ import annotations

import warnings
from typing import Any

from sqlalchemy.orm import Session

from faceledger.errors import PermissionDenied
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import Role
from faceledger.governance.models import PolicyState
from faceledger.governance.policy import PolicyEngine, UnsafeProfileWarning
from faceledger.governance.profiles import Profile, load_profile
from faceledger.service.violations import ViolationUseCases


class PolicyUseCases(ViolationUseCases):
    """Which policy profile governs this installation."""

    _engines: dict[str, PolicyEngine]

    def after_initialise(self, actor: str) -> None:
        """Record the configured profile as active on a new installation."""
        super().after_initialise(actor)
        with self.db.transaction() as session:
            if session.get(PolicyState, 1) is None:
                self._activate(session, actor, load_profile(self.settings.policy_profile))

    def engine(self, session: Session) -> PolicyEngine:
        """Return the policy engine of the active profile."""
        state = session.get(PolicyState, 1)
        name = state.profile_name if state else self.settings.policy_profile
        engines = self.__dict__.setdefault("_engines", {})
        if name not in engines:
            with warnings.catch_warnings():
                # The lab profile is announced in every output and ledger entry instead.
                warnings.simplefilter("ignore", UnsafeProfileWarning)
                engines[name] = PolicyEngine(load_profile(name))
        engine: PolicyEngine = engines[name]
        return engine

    def active_profile(self) -> Profile:
        """Return the active policy profile."""
        with self.db.read() as session:
            return self.engine(session).profile

    def profile_notice(self, session: Session) -> dict[str, Any]:
        """Return what every ledger entry and output says about the active profile."""
        profile = self.engine(session).profile
        notice: dict[str, Any] = {"name": profile.name, "sha256": profile.sha256}
        if profile.unsafe:
            notice["unsafe"] = True
            notice["banner"] = profile.unsafe_banner
        return notice

    def set_profile(self, acting: UserInfo, name: str) -> Profile:
        """Make ``name`` the active profile (admins only); recorded in the ledger.

        Raises:
            PermissionDenied: unless ``acting`` is an admin.
            ConfigError: for an unknown or malformed profile.
        """
        if Role.ADMIN not in acting.roles:
            self.record_denied(
                acting,
                "policy.set_profile",
                "Only an admin may change the active policy profile.",
                ["R1"],
            )
            raise PermissionDenied("Only an admin may change the active policy profile.")
        profile = load_profile(name)
        with self.db.transaction() as session:
            self._activate(session, acting.ledger_actor, profile)
        return profile

    def _activate(self, session: Session, actor: str, profile: Profile) -> None:
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
        self.ledger.append(
            session,
            actor=actor,
            action="policy.profile_set",
            object_type="policy",
            object_id=profile.name,
            payload=payload,
        )

    def profile_history(self) -> list[dict[str, Any]]:
        """Return every profile change recorded in the ledger, oldest first."""
        with self.db.read() as session:
            entries = self.ledger.query(session, action="policy.profile_set", limit=10_000)
        return [
            {"seq": e.seq, "ts": e.ts.isoformat(), "actor": e.actor, "object_id": e.object_id}
            for e in entries
        ]
