"""Policy: the active profile and its engine (:class:`PolicyStore`, used inside other use
cases' transactions) and changing it, an admin action (:class:`PolicyUseCases`)."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import ConfigError, Conflict, InvalidInput, NotFound, PermissionDenied
from faceledger.governance.accounts import Principal, User
from faceledger.governance.models import PolicyProposal, PolicyState
from faceledger.governance.policy import PolicyEngine, UnsafeProfileWarning
from faceledger.governance.profiles import Profile, load_profile, shipped_profiles
from faceledger.service import public_record
from faceledger.service.access import Access, Refused
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction


class PolicyStore:
    """Which profile is active, and its engine (one per profile, built once)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._engines: dict[str, PolicyEngine] = {}

    def initialise(self, actor: str) -> None:
        """Record the configured profile as active on a new installation."""
        with self._ctx.db.transaction() as session:
            if session.get(PolicyState, 1) is None:
                ref = self._ctx.settings.policy_profile
                self.activate(session, actor, load_quietly(ref), _ref_of(ref))

    def engine(self, session: Session) -> PolicyEngine:
        """Return the policy engine of the active profile.

        Raises:
            ConfigError: if a custom profile file no longer hashes to what was approved.
        """
        state = session.get(PolicyState, 1)
        if state is None:
            ref, sha = self._ctx.settings.policy_profile, None
        else:
            ref, sha = state.profile_ref or state.profile_name, state.profile_sha256
        key = f"{ref}\0{sha}"
        if key not in self._engines:
            profile = load_quietly(ref)
            if sha is not None and profile.sha256 != sha:
                raise ConfigError(
                    f"The active policy profile {ref} has changed since it was approved "
                    f"(SHA-256 {profile.sha256}, approved {sha}); propose and approve it again.",
                    profile=ref,
                )
            self._engines[key] = PolicyEngine(profile)
        return self._engines[key]

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

    def activate(
        self,
        session: Session,
        actor: str,
        profile: Profile,
        ref: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Make ``profile`` active, with its ledger entry, in the caller's transaction; ``ref``
        is the path of a custom profile file (None for a shipped one)."""
        state = session.get(PolicyState, 1)
        previous = (
            None if state is None else {"name": state.profile_name, "sha256": state.profile_sha256}
        )
        if state is None:
            state = PolicyState(
                id=1,
                profile_name=profile.name,
                profile_sha256=profile.sha256,
                changed_by=actor,
                profile_ref=ref,
            )
            session.add(state)
        else:
            state.profile_name, state.profile_sha256 = profile.name, profile.sha256
            state.changed_by, state.profile_ref, state.changed_at = actor, ref, utcnow()
        session.flush()
        payload: dict[str, Any] = {
            "profile": {"name": profile.name, "sha256": profile.sha256},
            "previous": previous,
            "source": ref,
            **(extra or {}),
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
            public=public_record.policy_profile(profile, (extra or {}).get("proposal_id")),
        )


@dataclass(frozen=True)
class ProposalView:
    """A proposed profile change and where it stands."""

    id: int
    profile: str
    sha256: str
    source: str | None
    unsafe: bool
    banner: str | None
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Return the proposal as JSON-ready data."""
        return {
            **{k: v for k, v in self.__dict__.items() if not k.endswith("_at")},
            "proposed_at": self.proposed_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }


def load_quietly(ref: str) -> Profile:
    """Load a profile by name or path; an unsafe one is announced everywhere instead of warned.

    Raises:
        ConfigError: for an unknown or malformed profile.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeProfileWarning)
        return load_profile(ref)


def _ref_of(name_or_path: str) -> str | None:
    """None for a shipped profile's name, else the absolute path of the file."""
    return None if name_or_path in shipped_profiles() else str(Path(name_or_path).resolve())


def _confirm(profile: Profile, confirm: str | None) -> None:
    if profile.unsafe and (confirm or "").strip() != profile.name:
        raise InvalidInput(
            f"The {profile.name} profile is UNSAFE ({profile.unsafe_banner}). Switching to it "
            f"needs a typed confirmation: give confirm={profile.name!r}.",
            field="confirm",
            profile=profile.name,
        )


class PolicyUseCases:
    """Reading the active policy profile, and changing it: one admin proposes a profile, a
    different admin approves it (typing its name if it is unsafe), and only then is it active.
    A custom YAML file that loosens any rule of the strictest shipped profile is marked unsafe
    by :func:`~faceledger.governance.profiles.load_profile`, banner and all."""

    def __init__(self, ctx: ServiceContext, store: PolicyStore, access: Access) -> None:
        self._ctx, self._store, self._access = ctx, store, access

    def active_profile(self) -> Profile:
        """Return the active policy profile (public: every page shows it)."""
        with self._ctx.db.read() as session:
            return self._store.profile(session)

    def propose_profile(
        self, acting: Principal, name_or_path: str, confirm: str | None = None
    ) -> ProposalView:
        """Propose ``name_or_path`` (a shipped profile or a YAML file) as the active profile;
        a different admin must approve it. Earlier pending proposals are superseded.

        Raises:
            PermissionDenied: unless ``acting`` is an admin (recorded).
            ConfigError: for an unknown or malformed profile.
            InvalidInput: for an unsafe profile without ``confirm`` equal to its name.
        """
        with self._access.transaction(acting, "policy.propose") as (session, me):
            profile = load_quietly(name_or_path)
            _confirm(profile, confirm)
            for old in session.scalars(
                select(PolicyProposal).where(PolicyProposal.status == "pending")
            ):
                old.status, old.decided_at = "superseded", utcnow()
            row = PolicyProposal(
                profile_name=profile.name,
                profile_sha256=profile.sha256,
                profile_ref=_ref_of(name_or_path),
                unsafe=profile.unsafe,
                proposed_by_id=me.id,
                proposed_at=utcnow(),
                status="pending",
            )
            session.add(row)
            session.flush()
            payload: dict[str, Any] = {
                "proposal_id": row.id,
                "profile": {"name": profile.name, "sha256": profile.sha256},
                "source": row.profile_ref,
                "unsafe": profile.unsafe,
            }
            if profile.unsafe:
                payload["banner"] = profile.unsafe_banner
            self._ctx.ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.POLICY_PROPOSED,
                object_type="policy_proposal",
                object_id=str(row.id),
                payload=payload,
                public=public_record.policy_profile(profile, row.id),
            )
            return _proposal_view(session, row, profile)

    def approve_proposal(
        self, acting: Principal, proposal_id: int, confirm: str | None = None
    ) -> Profile:
        """Approve another admin's pending proposal: its profile becomes active.

        Raises:
            PermissionDenied: unless ``acting`` is an admin other than the proposer (recorded).
            NotFound: for an unknown proposal.
            Conflict: if it is not pending.
            InvalidInput: for an unsafe profile without ``confirm`` equal to its name.
            ConfigError: if the profile file changed since it was proposed.
        """
        with self._access.transaction(acting, "policy.approve") as (session, me):
            row = session.get(PolicyProposal, proposal_id)
            if row is None:
                raise NotFound(f"There is no policy proposal {proposal_id}.")
            if row.proposed_by_id == me.id:
                raise Refused(
                    "policy.approve",
                    PermissionDenied(
                        f"{me.username} proposed this profile change and may not approve it "
                        "too: a different admin must (two-person rule)."
                    ),
                    ["R1", "R18"],
                )
            if row.status != "pending":
                raise Conflict(f"Policy proposal {proposal_id} is {row.status}, not pending.")
            profile = load_quietly(row.profile_ref or row.profile_name)
            if profile.sha256 != row.profile_sha256:
                raise ConfigError(
                    f"The profile of proposal {proposal_id} changed since it was proposed; "
                    "propose it again.",
                    profile=row.profile_name,
                )
            _confirm(profile, confirm)
            row.status, row.decided_by_id, row.decided_at = "approved", me.id, utcnow()
            proposer = session.get(User, row.proposed_by_id)
            self._store.activate(
                session,
                me.ledger_actor,
                profile,
                row.profile_ref,
                {
                    "proposal_id": row.id,
                    "proposed_by": proposer.username if proposer else None,
                    "approved_by": me.username,
                },
            )
            return profile

    def list_proposals(self, acting: Principal) -> list[ProposalView]:
        """Return every proposal, newest first (admins).

        Raises:
            PermissionDenied: unless ``acting`` is an admin (recorded).
        """
        with self._access.transaction(acting, "policy.propose", write=False) as (session, _):
            rows = session.scalars(select(PolicyProposal).order_by(PolicyProposal.id.desc()))
            return [_proposal_view(session, r) for r in rows]

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


def _proposal_view(
    session: Session, row: PolicyProposal, profile: Profile | None = None
) -> ProposalView:
    def name(user_id: int | None) -> str | None:
        user = session.get(User, user_id) if user_id is not None else None
        return user.username if user else None

    banner = profile.unsafe_banner if profile is not None and profile.unsafe else None
    return ProposalView(
        row.id,
        row.profile_name,
        row.profile_sha256,
        row.profile_ref,
        row.unsafe,
        banner,
        row.status,
        name(row.proposed_by_id) or "",
        row.proposed_at,
        name(row.decided_by_id),
        row.decided_at,
    )
