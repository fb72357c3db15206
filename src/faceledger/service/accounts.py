"""Account use cases: agencies, user accounts and login sessions (R1, R2).

Each change runs in one transaction with its ledger entry; the ledger actor is
``user:<username>`` (``system`` for the bootstrap administrator). Password hashes and session
tokens never reach the ledger. An attempt refused for want of a role (see
:func:`~faceledger.governance.accounts.role_refusal`) is itself recorded, as an ``auth.denied``
entry, before :class:`~faceledger.errors.PermissionDenied` is raised.

The acting person is passed in as the :class:`UserInfo` that :meth:`user_for_token` returned,
and is read again from the database inside each use case, so an account disabled since it
logged in cannot act on the stale record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any, ClassVar, NoReturn

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, NotFound, PermissionDenied, Unauthenticated
from faceledger.governance.accounts import (
    DEFAULT_HASHER,
    MAX_PASSWORD_LENGTH,
    Agency,
    AgencyInfo,
    User,
    UserInfo,
    UserSession,
    check_display_name,
    check_password_strength,
    check_slug,
    check_training_until,
    check_username,
    generate_password,
    hash_password,
    new_session_token,
    parse_agency_kind,
    parse_roles,
    password_needs_rehash,
    role_refusal,
    token_digest,
    verify_password,
)
from faceledger.governance.context import AgencyKind, Role
from faceledger.ledger.envelope import FIELD_LIMITS
from faceledger.service.violations import ViolationUseCases

__all__ = ["SESSION_LIFETIME", "SYSTEM_ACTOR", "AccountUseCases", "AgencyInfo", "UserInfo"]

SESSION_LIFETIME = dt.timedelta(hours=12)
SYSTEM_ACTOR = "system"
ANONYMOUS_ACTOR = "anonymous"
BAD_CREDENTIALS = "Unknown username or wrong password."


class AccountUseCases(ViolationUseCases):
    """Agencies, accounts and sessions; each change lands with its ledger entry.

    ``password_hasher`` makes new hashes; a subclass may set a cheaper one (tests do). Hashes
    made with other parameters still verify, and are upgraded at the next login.
    """

    password_hasher: ClassVar[PasswordHasher] = DEFAULT_HASHER

    # -- bootstrap --------------------------------------------------------------------------

    def bootstrap_admin(
        self,
        username: str,
        display_name: str,
        agency_slug: str = "operating-unit",
        agency_name: str = "Operating unit",
        agency_kind: str = "operating_unit",
    ) -> tuple[UserInfo, str]:
        """Create the first account: an approved, active admin of a new agency.

        It also holds the supervisor role, since a supervisor must approve every later account
        (R2). Returns the account and its generated password, which is shown only this once.

        Raises:
            Conflict: if any account exists already.
            InvalidInput: for a bad username, name, slug or agency kind.
        """
        username = check_username(username)
        display_name = check_display_name(display_name, "Display name")
        agency_slug = check_slug(agency_slug)
        agency_name = check_display_name(agency_name, "Agency name")
        kind = parse_agency_kind(agency_kind)
        password = generate_password(username)
        password_hash = hash_password(password, self.password_hasher)
        with self.db.transaction() as session:
            if session.scalar(select(func.count()).select_from(User)):
                raise Conflict(
                    "Accounts exist already; bootstrap-admin only sets up the first one. "
                    "Ask an administrator to create your account."
                )
            agency = session.scalar(select(Agency).where(Agency.slug == agency_slug))
            if agency is None:
                agency = self._add_agency(session, SYSTEM_ACTOR, agency_slug, agency_name, kind)
            user = _new_user(username, display_name, agency, {Role.ADMIN, Role.SUPERVISOR})
            user.password_hash = password_hash
            user.approved, user.approved_at = True, utcnow()
            info = self._add_user(session, SYSTEM_ACTOR, user, bootstrap=True)
        return info, password

    def has_accounts(self) -> bool:
        """True once any account exists (the first start bootstraps an admin otherwise)."""
        with self.db.read() as session:
            return bool(session.scalar(select(func.count()).select_from(User)))

    # -- sessions ---------------------------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        """Check a password and open a session of SESSION_LIFETIME; return its bearer token.

        A failed attempt is recorded (``auth.login_failed``); an unknown username is not
        written down, as people do type passwords into the username field.

        Raises:
            Unauthenticated: for an unknown username or a wrong password (one message for
                both), or an account that is not approved yet or is disabled.
        """
        with self.db.transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            problem = self._login_problem(user, password)
            if problem is None and user is not None:
                if password_needs_rehash(user.password_hash, self.password_hasher):
                    user.password_hash = hash_password(password, self.password_hasher)
                token, digest = new_session_token()
                now = utcnow()
                login = UserSession(
                    user=user,
                    token_sha256=digest,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
                session.add(login)
                session.flush()
                self.ledger.append(
                    session,
                    actor=f"user:{username}",
                    action="auth.login",
                    object_type="user",
                    object_id=username,
                    payload={
                        "username": username,
                        "session_id": login.id,
                        "expires_at": login.expires_at.isoformat(),
                    },
                )
                return token
        assert problem is not None
        known = user is not None
        with self.db.transaction() as session:
            self.ledger.append(
                session,
                actor=f"user:{username}" if known else ANONYMOUS_ACTOR,
                action="auth.login_failed",
                object_type="user",
                object_id=username if known else "unknown",
                payload={"username": username if known else None, "reason": problem[0]},
            )
        raise Unauthenticated(problem[1])

    def logout(self, token: str) -> None:
        """End the session of ``token``.

        Raises:
            Unauthenticated: if the token names no live session.
        """
        with self.db.transaction() as session:
            login = self._live_session(session, token)
            login.revoked_at = utcnow()
            name = login.user.username
            self.ledger.append(
                session,
                actor=f"user:{name}",
                action="auth.logout",
                object_type="user",
                object_id=name,
                payload={"username": name, "session_id": login.id},
            )

    def user_for_token(self, token: str) -> UserInfo:
        """Return the account logged in with ``token``.

        Raises:
            Unauthenticated: if the token is unknown, expired or revoked, or its account is
                disabled or not approved.
        """
        with self.db.read() as session:
            return UserInfo.of(self._live_session(session, token).user)

    # -- agencies ---------------------------------------------------------------------------

    def create_agency(
        self, acting: UserInfo, slug: str, name: str, kind: str, jurisdiction: str = ""
    ) -> AgencyInfo:
        """Create an agency (admin only); ``kind`` is 'operating_unit' or 'requesting_agency'.

        Raises:
            PermissionDenied: unless ``acting`` is an admin.
            InvalidInput: for a bad slug, name, kind or jurisdiction.
            Conflict: if the slug is taken.
        """
        with self._account_action(acting, "agency.create", slug) as (session, _):
            slug = check_slug(slug)
            name = check_display_name(name, "Agency name")
            agency_kind = parse_agency_kind(kind)
            where = check_display_name(jurisdiction, "Jurisdiction") if jurisdiction else ""
            agency = self._add_agency(session, acting.ledger_actor, slug, name, agency_kind, where)
            return AgencyInfo.of(agency)

    def list_agencies(self) -> list[AgencyInfo]:
        """Return every agency, by slug."""
        with self.db.read() as session:
            return [AgencyInfo.of(a) for a in session.scalars(select(Agency).order_by(Agency.slug))]

    # -- accounts ---------------------------------------------------------------------------

    def create_user(
        self,
        acting: UserInfo,
        username: str,
        display_name: str,
        agency_slug: str,
        roles: Iterable[str],
        password: str,
    ) -> UserInfo:
        """Create an account (admin only). It cannot log in until a supervisor approves it (R2).

        Raises:
            PermissionDenied: unless ``acting`` is an admin.
            InvalidInput: for a bad username or name, an unknown role, or a weak password.
            NotFound: for an unknown agency.
            Conflict: if the username is taken.
        """
        with self._account_action(acting, "user.create", username) as (session, _):
            username = check_username(username)
            display_name = check_display_name(display_name, "Display name")
            wanted = parse_roles(roles)
            check_password_strength(password, username)
            agency = _agency(session, agency_slug)
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"An account named {username!r} exists already.")
            user = _new_user(username, display_name, agency, wanted)
            user.password_hash = hash_password(password, self.password_hasher)
            return self._add_user(session, acting.ledger_actor, user)

    def approve_user(self, acting: UserInfo, username: str) -> UserInfo:
        """Approve an account so it may log in (supervisor only, never one's own; R2).

        Raises:
            PermissionDenied: unless ``acting`` is a supervisor other than the account holder.
            NotFound: for an unknown username.
            Conflict: if the account is approved already.
        """
        with self._account_action(acting, "user.approve", username) as (session, me):
            user = _user(session, username)
            if user.approved:
                raise Conflict(f"Account {username!r} is approved already.")
            user.approved, user.approved_by, user.approved_at = True, me, utcnow()
            return self._account_changed(
                session, acting, "user.approve", user, approved_by=me.username
            )

    def certify_training(
        self, acting: UserInfo, username: str, certified_until: dt.date
    ) -> UserInfo:
        """Record that an account's training is valid through ``certified_until`` (R2).

        Supervisor only, never for oneself. The policy profile decides how long a certificate
        may run (rule ``training_current``); this refuses only dates already past.

        Raises:
            PermissionDenied: unless ``acting`` is a supervisor other than the account holder.
            InvalidInput: if ``certified_until`` is not a date, or is before today (UTC).
            NotFound: for an unknown username.
        """
        with self._account_action(acting, "user.certify_training", username) as (session, _):
            until = check_training_until(certified_until, utcnow().date())
            user = _user(session, username)
            previous = user.training_certified_until
            user.training_certified_until = until
            return self._account_changed(
                session,
                acting,
                "user.certify_training",
                user,
                certified_until=until.isoformat(),
                previous=previous.isoformat() if previous else None,
            )

    def disable_user(self, acting: UserInfo, username: str) -> UserInfo:
        """Disable an account and end its sessions (admin or supervisor).

        Raises:
            PermissionDenied: unless ``acting`` is an admin or a supervisor.
            NotFound: for an unknown username.
            Conflict: if it is disabled already, or is the last active admin.
        """
        with self._account_action(acting, "user.disable", username) as (session, _):
            user = _user(session, username)
            if not user.active:
                raise Conflict(f"Account {username!r} is disabled already.")
            if Role.ADMIN in user.roles and user.approved:
                others = session.scalars(
                    select(User).where(User.active, User.approved, User.id != user.id)
                )
                if not any(Role.ADMIN in u.roles for u in others):
                    raise Conflict(
                        f"Account {username!r} is the last active admin; create and approve "
                        "another admin before disabling it."
                    )
            user.active = False
            revoked = _revoke_sessions(session, user)
            return self._account_changed(
                session, acting, "user.disable", user, sessions_revoked=revoked
            )

    def enable_user(self, acting: UserInfo, username: str) -> UserInfo:
        """Enable a disabled account again (admin or supervisor); its approval is unchanged.

        Raises:
            PermissionDenied: unless ``acting`` is an admin or a supervisor.
            NotFound: for an unknown username.
            Conflict: if it is active already.
        """
        with self._account_action(acting, "user.enable", username) as (session, _):
            user = _user(session, username)
            if user.active:
                raise Conflict(f"Account {username!r} is active already.")
            user.active = True
            return self._account_changed(session, acting, "user.enable", user)

    def set_password(self, acting: UserInfo, username: str, new_password: str) -> UserInfo:
        """Set an account's password (one's own, or anyone's as admin) and end its sessions.

        Raises:
            PermissionDenied: unless it is ``acting``'s own account or ``acting`` is an admin.
            InvalidInput: for a weak password.
            NotFound: for an unknown username.
        """
        with self._account_action(acting, "user.set_password", username) as (session, me):
            check_password_strength(new_password, username)
            user = _user(session, username)
            user.password_hash = hash_password(new_password, self.password_hasher)
            revoked = _revoke_sessions(session, user)
            by = "self" if user.id == me.id else "admin"
            return self._account_changed(
                session, acting, "user.set_password", user, by=by, sessions_revoked=revoked
            )

    def list_users(
        self, acting: UserInfo, agency_slug: str | None = None, include_disabled: bool = True
    ) -> list[UserInfo]:
        """Return accounts by username, optionally of one agency (admin, supervisor, auditor).

        Raises:
            PermissionDenied: unless ``acting`` is an admin, supervisor or auditor.
            NotFound: for an unknown agency.
        """
        with self._account_action(acting, "user.list", "*") as (session, _):
            query = select(User).order_by(User.username)
            if agency_slug is not None:
                query = query.where(User.agency_id == _agency(session, agency_slug).id)
            if not include_disabled:
                query = query.where(User.active)
            return [UserInfo.of(u) for u in session.scalars(query)]

    def get_user(self, acting: UserInfo, username: str) -> UserInfo:
        """Return one account: one's own, or anyone's as admin, supervisor or auditor.

        Raises:
            PermissionDenied: for another's account without one of those roles.
            NotFound: for an unknown username.
        """
        with self._account_action(acting, "user.show", username) as (session, _):
            return UserInfo.of(_user(session, username))

    # -- helpers ----------------------------------------------------------------------------

    @contextmanager
    def _account_action(
        self, acting: UserInfo, attempted: str, object_id: str
    ) -> Iterator[tuple[Session, User]]:
        """Open a transaction as ``acting`` (read again) if they may do ``attempted`` to
        ``object_id``; otherwise record the refusal and raise PermissionDenied."""
        with self.db.transaction() as session:
            me = session.get(User, acting.id)
            if me is None or me.username != acting.username:
                raise Unauthenticated("Your account no longer exists; log in again.")
            if not (me.approved and me.active):
                raise Unauthenticated(f"Account {me.username!r} is disabled or not approved.")
            refusal = role_refusal(me.username, me.roles, attempted, object_id == me.username)
            if refusal is None:
                yield session, me
                return
        self._record_account_denial(acting, me.roles, attempted, object_id, refusal)

    def _record_account_denial(
        self,
        acting: UserInfo,
        roles: frozenset[Role],
        attempted: str,
        object_id: str,
        reason: str,
    ) -> NoReturn:
        """Write an ``auth.denied`` entry and a violation (R18) in their own transaction, then
        raise PermissionDenied."""
        with self.db.transaction() as session:
            self.add_violation(
                session,
                kind="denied_action",
                reason=reason,
                requirements=["R1", "R2"],
                actor=acting.ledger_actor,
                details={"attempted": attempted, "object_id": object_id[:200]},
            )
            self.ledger.append(
                session,
                actor=acting.ledger_actor,
                action="auth.denied",
                object_type=attempted.split(".", 1)[0],
                # The target is not validated yet: keep the entry appendable whatever it is.
                object_id=object_id[: FIELD_LIMITS["object_id"]] or "?",
                payload={
                    "attempted": attempted,
                    "reason": reason,
                    "roles": sorted(r.value for r in roles),
                },
            )
        raise PermissionDenied(reason, attempted=attempted)

    def _login_problem(self, user: User | None, password: str) -> tuple[str, str] | None:
        """Return (reason code, message) if ``user`` may not log in with ``password``."""
        if user is None or len(password) > MAX_PASSWORD_LENGTH:
            # Spend a verification anyway, so an unknown username takes as long to refuse.
            with suppress(Unauthenticated):
                verify_password(_throwaway_hash(self.password_hasher), "", self.password_hasher)
            return ("unknown_user" if user is None else "wrong_password"), BAD_CREDENTIALS
        try:
            verify_password(user.password_hash, password, self.password_hasher)
        except Unauthenticated:
            return "wrong_password", BAD_CREDENTIALS
        # Only someone who knows the password learns the account's state.
        if not user.approved:
            return "not_approved", (
                f"Account {user.username!r} has not been approved by a supervisor yet (R2)."
            )
        if not user.active:
            return "disabled", (
                f"Account {user.username!r} is disabled; ask an administrator or supervisor."
            )
        return None

    @staticmethod
    def _live_session(session: Session, token: str) -> UserSession:
        login = session.scalar(
            select(UserSession).where(UserSession.token_sha256 == token_digest(token))
        )
        if login is None:
            raise Unauthenticated("Unknown session; log in again.")
        if login.revoked_at is not None:
            raise Unauthenticated("This session was ended; log in again.")
        if not login.is_live(utcnow()):
            raise Unauthenticated("This session has expired; log in again.")
        if not (login.user.active and login.user.approved):
            raise Unauthenticated(f"Account {login.user.username!r} is disabled or not approved.")
        return login

    def _add_agency(
        self,
        session: Session,
        actor: str,
        slug: str,
        name: str,
        kind: AgencyKind,
        jurisdiction: str = "",
    ) -> Agency:
        if session.scalar(select(Agency.id).where(Agency.slug == slug)) is not None:
            raise Conflict(f"An agency with slug {slug!r} exists already.")
        agency = Agency(
            slug=slug, name=name, kind=kind.value, jurisdiction=jurisdiction, created_at=utcnow()
        )
        session.add(agency)
        _flush_unique(session, f"An agency with slug {slug!r} exists already.")
        self.ledger.append(
            session,
            actor=actor,
            action="agency.create",
            object_type="agency",
            object_id=slug,
            payload={"slug": slug, "name": name, "kind": kind.value, "jurisdiction": jurisdiction},
        )
        return agency

    def _add_user(
        self, session: Session, actor: str, user: User, bootstrap: bool = False
    ) -> UserInfo:
        session.add(user)
        _flush_unique(session, f"An account named {user.username!r} exists already.")
        info = UserInfo.of(user)
        self.ledger.append(
            session,
            actor=actor,
            action="user.create",
            object_type="user",
            object_id=user.username,
            payload={
                "username": info.username,
                "display_name": info.display_name,
                "agency": info.agency,
                "roles": sorted(r.value for r in info.roles),
                "approved": info.approved,
                "bootstrap": bootstrap,
            },
        )
        return info

    def _account_changed(
        self, session: Session, acting: UserInfo, action: str, user: User, **payload: Any
    ) -> UserInfo:
        session.flush()
        self.ledger.append(
            session,
            actor=acting.ledger_actor,
            action=action,
            object_type="user",
            object_id=user.username,
            payload={"username": user.username, **payload},
        )
        return UserInfo.of(user)


def _new_user(username: str, display_name: str, agency: Agency, roles: Iterable[Role]) -> User:
    """A new account: active, not approved, no training, no password yet."""
    user = User(
        username=username,
        display_name=display_name,
        agency=agency,
        password_hash="",
        approved=False,
        approved_by=None,
        approved_at=None,
        active=True,
        training_certified_until=None,
        created_at=utcnow(),
    )
    user.roles = frozenset(roles)
    return user


def _agency(session: Session, slug: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.slug == slug))
    if agency is None:
        raise NotFound(f"No agency with slug {slug!r}.", agency=slug)
    return agency


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No account named {username!r}.", username=username)
    return user


def _revoke_sessions(session: Session, user: User) -> int:
    """End every live session of ``user``; return how many there were."""
    now = utcnow()
    live = session.scalars(
        select(UserSession).where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
    ).all()
    for login in live:
        login.revoked_at = now
    return len(live)


def _flush_unique(session: Session, message: str) -> None:
    # Two writers racing past the existence check meet the unique constraint instead.
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message) from None


@cache
def _throwaway_hash(hasher: PasswordHasher) -> str:
    return hash_password(generate_password(), hasher)
