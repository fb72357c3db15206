"""Account use cases: agencies, user accounts and login sessions (R1, R2).

Each change runs in one transaction with its ledger entry; the ledger actor is
``user:<username>`` (``system`` for the bootstrap administrator). Password hashes and session
tokens never reach the ledger. Who may do what is the access registry's (see
:mod:`faceledger.governance.actions`): a refusal is recorded the one way
:class:`~faceledger.service.access.Access` records every refusal.

The acting person is passed in as the principal that :meth:`user_for_token` returned, and is
read again from the database inside each use case, so an account disabled since it logged in
cannot act on the stale record. Whoever creates an account cannot approve it or certify its
training, and the profile refuses role combinations that would defeat independent review.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from faceledger.governance.accounts import (
    MAX_PASSWORD_LENGTH,
    Agency,
    AgencyInfo,
    Principal,
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
    token_digest,
    verify_password,
)
from faceledger.governance.context import AgencyKind, Role
from faceledger.governance.inputs import check_training_end
from faceledger.governance.profiles import role_combination_problems
from faceledger.governance.tokens import ApiToken
from faceledger.service.access import Access, Refused
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.policy import PolicyStore
from faceledger.service.throttle import LoginThrottle

__all__ = ["SESSION_LIFETIME", "SYSTEM_ACTOR", "AccountUseCases", "AgencyInfo", "UserInfo"]

SESSION_LIFETIME = dt.timedelta(hours=12)
SYSTEM_ACTOR = "system"
ANONYMOUS_ACTOR = "anonymous"
BAD_CREDENTIALS = "Unknown username or wrong password."


class AccountUseCases:
    """Agencies, accounts and sessions; each change lands with its ledger entry.

    The context's ``password_hasher`` makes new hashes (tests hand in a cheap one). Hashes made
    with other parameters still verify, and are upgraded at the next login.
    """

    def __init__(self, ctx: ServiceContext, access: Access, policy: PolicyStore) -> None:
        self._access, self._policy = access, policy
        self.db, self.ledger, self.password_hasher = ctx.db, ctx.ledger, ctx.password_hasher
        self._throttle = LoginThrottle(ctx.ledger)

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

    def bootstrap_supervisor(
        self, username: str, display_name: str, password: str | None = None
    ) -> tuple[UserInfo, str]:
        """Create the installation's second person: an approved supervisor of the bootstrap
        admin's agency, so that the accounts the admin creates can be approved by someone who
        did not create them (R2). Returns the account and its password (generated unless
        given), shown only this once. Allowed only while the bootstrap admin is the only
        supervisor; the ledger marks the account as made at bootstrap.

        Raises:
            Conflict: if there is no bootstrap admin yet, or another supervisor exists.
            InvalidInput: for a bad username or name, or a weak password.
        """
        username = check_username(username)
        display_name = check_display_name(display_name, "Display name")
        password = password or generate_password(username)
        check_password_strength(password, username, display_name)
        password_hash = hash_password(password, self.password_hasher)
        with self.db.transaction() as session:
            users = session.scalars(select(User).order_by(User.id)).all()
            if not users:
                raise Conflict("Create the first admin (bootstrap-admin) before the supervisor.")
            if sum(Role.SUPERVISOR in u.roles for u in users) != 1:
                raise Conflict(
                    "bootstrap-supervisor only sets up the second supervisor; ask a supervisor "
                    "to approve new accounts instead."
                )
            user = _new_user(username, display_name, users[0].agency, {Role.SUPERVISOR})
            user.password_hash = password_hash
            user.approved, user.approved_at = True, utcnow()
            info = self._add_user(session, SYSTEM_ACTOR, user, bootstrap=True)
        return info, password

    def has_accounts(self) -> bool:
        """True once any account exists (the first start bootstraps an admin otherwise)."""
        with self.db.read() as session:
            return bool(session.scalar(select(func.count()).select_from(User)))

    # -- sessions ---------------------------------------------------------------------------

    def login(self, username: str, password: str, client: str | None = None) -> str:
        """Check a password and open a session of SESSION_LIFETIME; return its bearer token.

        A failed attempt is recorded (``auth.login_failed``); an unknown username is not
        written down, as people do type passwords into the username field. After repeated
        failures the account and the client address (``client``) are locked out for a growing
        time; each lockout is recorded (``auth.lockout``).

        Raises:
            TooManyAttempts: while the account or the client address is locked out (429).
            Unauthenticated: for an unknown username or a wrong password (one message for
                both), or an account that is not approved yet or is disabled.
        """
        with self.db.transaction() as session:
            user = session.scalar(select(User).where(User.username == username))
            # An unknown name may be a password typed in the wrong field: throttle and record
            # it only as a hash.
            key = username if user is not None else _unknown_key(username)
            self._throttle.check(session, key, client, utcnow())
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
                    action=LedgerAction.AUTH_LOGIN,
                    object_type="user",
                    object_id=username,
                    payload={
                        "username": username,
                        "session_id": login.id,
                        "expires_at": login.expires_at.isoformat(),
                    },
                )
                self._throttle.record_success(session, key, client)
                return token
        assert problem is not None
        known = user is not None
        with self.db.transaction() as session:
            self.ledger.append(
                session,
                actor=f"user:{username}" if known else ANONYMOUS_ACTOR,
                action=LedgerAction.AUTH_LOGIN_FAILED,
                object_type="user",
                object_id=username if known else "unknown",
                payload={"username": username if known else None, "reason": problem[0]},
            )
            self._throttle.record_failure(session, key, client, utcnow())
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
                action=LedgerAction.AUTH_LOGOUT,
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
        self, acting: Principal, slug: str, name: str, kind: str, jurisdiction: str = ""
    ) -> AgencyInfo:
        """Create an agency (admin only); ``kind`` is 'operating_unit' or 'requesting_agency'.

        Raises:
            PermissionDenied: unless ``acting`` is an admin.
            InvalidInput: for a bad slug, name, kind or jurisdiction.
            Conflict: if the slug is taken.
        """
        with self._access.transaction(acting, "agency.create") as (session, me):
            slug = check_slug(slug)
            name = check_display_name(name, "Agency name")
            agency_kind = parse_agency_kind(kind)
            where = check_display_name(jurisdiction, "Jurisdiction") if jurisdiction else ""
            agency = self._add_agency(session, me.ledger_actor, slug, name, agency_kind, where)
            return AgencyInfo.of(agency)

    def list_agencies(self, acting: Principal) -> list[AgencyInfo]:
        """Return every agency, by slug (any approved account)."""
        with self._access.transaction(acting, "agency.list", write=False) as (session, _):
            return [AgencyInfo.of(a) for a in session.scalars(select(Agency).order_by(Agency.slug))]

    # -- accounts ---------------------------------------------------------------------------

    def create_user(
        self,
        acting: Principal,
        username: str,
        display_name: str,
        agency_slug: str,
        roles: Iterable[str],
        password: str,
    ) -> UserInfo:
        """Create an account (admin only). It cannot log in until a supervisor approves it (R2).

        Raises:
            PermissionDenied: unless ``acting`` is an admin, or for roles the profile does not
                let one account hold together (R10; recorded).
            InvalidInput: for a bad username or name, an unknown role, or a weak password.
            NotFound: for an unknown agency.
            Conflict: if the username is taken.
        """
        with self._access.transaction(acting, "user.create") as (session, me):
            username = check_username(username)
            display_name = check_display_name(display_name, "Display name")
            wanted = parse_roles(roles)
            profile = self._policy.profile(session)
            combos = role_combination_problems(profile, wanted, profile_name=profile.name)
            if combos:
                raise Refused(
                    "user.create",
                    PermissionDenied(
                        " ".join(combos),
                        roles=sorted(r.value for r in wanted),
                        requirements=["R10"],
                    ),
                    ["R10", "R18"],
                )
            check_password_strength(password, username, display_name)
            agency = _agency(session, agency_slug)
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"An account named {username!r} exists already.")
            user = _new_user(username, display_name, agency, wanted)
            user.created_by_id = me.id
            user.password_hash = hash_password(password, self.password_hasher)
            return self._add_user(session, me.ledger_actor, user)

    def approve_user(self, acting: Principal, username: str) -> UserInfo:
        """Approve an account so it may log in (a supervisor who neither holds nor created it;
        R2).

        Raises:
            PermissionDenied: unless ``acting`` is a supervisor other than the account holder
                and its creator (recorded).
            NotFound: for an unknown username.
            Conflict: if the account is approved already.
        """
        with self._on_account(acting, "user.approve", username) as (session, me, user):
            if user.approved:
                raise Conflict(f"Account {username!r} is approved already.")
            approver = self._access.user_row(session, me)
            user.approved, user.approved_by, user.approved_at = True, approver, utcnow()
            return self._account_changed(
                session, me, LedgerAction.USER_APPROVE, user, approved_by=me.username
            )

    def certify_training(
        self, acting: Principal, username: str, certified_until: dt.date
    ) -> UserInfo:
        """Record that an account's training is valid through ``certified_until`` (R2).

        Supervisor only, never for oneself nor for an account one created. A date already
        past is refused, and so is one further ahead than the profile's
        ``training_validity_days`` (or five years): rule ``training_current`` would refuse such
        a certificate at every search, locking its holder out.

        Raises:
            PermissionDenied: unless ``acting`` is a supervisor other than the account holder
                and its creator (recorded).
            InvalidInput: if ``certified_until`` is not a date, is before today (UTC), or is
                further ahead than the profile allows (naming the latest date allowed).
            NotFound: for an unknown username.
        """
        with self._on_account(acting, "user.certify_training", username) as (session, _, user):
            today = utcnow().date()
            until = check_training_until(certified_until, today)
            validity = self._policy.profile(session).access.training_validity_days
            check_training_end(until, today, validity)
            previous = user.training_certified_until
            user.training_certified_until = until
            return self._account_changed(
                session,
                acting,
                LedgerAction.USER_CERTIFY_TRAINING,
                user,
                certified_until=until.isoformat(),
                previous=previous.isoformat() if previous else None,
            )

    def disable_user(self, acting: Principal, username: str) -> UserInfo:
        """Disable an account and end its sessions and API tokens (admin or supervisor); tokens
        stay revoked if the account is enabled again.

        Raises:
            PermissionDenied: unless ``acting`` is an admin or a supervisor.
            NotFound: for an unknown username.
            Conflict: if it is disabled already, or is the last active admin.
        """
        with self._on_account(acting, "user.disable", username) as (session, _, user):
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
            revoked, tokens = _revoke_sessions(session, user), _revoke_tokens(session, user)
            return self._account_changed(
                session,
                acting,
                LedgerAction.USER_DISABLE,
                user,
                sessions_revoked=revoked,
                tokens_revoked=tokens,
            )

    def enable_user(self, acting: Principal, username: str) -> UserInfo:
        """Enable a disabled account again (admin or supervisor); its approval is unchanged and
        its revoked API tokens stay revoked.

        Raises:
            PermissionDenied: unless ``acting`` is an admin or a supervisor.
            NotFound: for an unknown username.
            Conflict: if it is active already.
        """
        with self._on_account(acting, "user.enable", username) as (session, _, user):
            if user.active:
                raise Conflict(f"Account {username!r} is active already.")
            user.active = True
            return self._account_changed(session, acting, LedgerAction.USER_ENABLE, user)

    def set_password(
        self,
        acting: Principal,
        username: str,
        new_password: str,
        current_password: str | None = None,
    ) -> UserInfo:
        """Set an account's password and end its sessions and API tokens: one's own, giving
        the current password, or anyone's as admin.

        Raises:
            PermissionDenied: unless it is ``acting``'s own account or ``acting`` is an admin
                (recorded).
            Unauthenticated: for one's own account without the right current password.
            InvalidInput: for a weak password.
            NotFound: for an unknown username.
        """
        with self._on_account(acting, "user.set_password", username) as (session, me, user):
            own = user.id == me.id
            if own:
                if current_password is None:
                    raise InvalidInput(
                        "Give your current password to change it.", field="current_password"
                    )
                verify_password(user.password_hash, current_password, self.password_hasher)
            check_password_strength(new_password, username, user.display_name)
            user.password_hash = hash_password(new_password, self.password_hasher)
            revoked, tokens = _revoke_sessions(session, user), _revoke_tokens(session, user)
            return self._account_changed(
                session,
                acting,
                LedgerAction.USER_SET_PASSWORD,
                user,
                by="self" if own else "admin",
                sessions_revoked=revoked,
                tokens_revoked=tokens,
            )

    def list_users(
        self, acting: Principal, agency_slug: str | None = None, include_disabled: bool = True
    ) -> list[UserInfo]:
        """Return accounts by username, optionally of one agency (admin, supervisor, auditor).

        Raises:
            PermissionDenied: unless ``acting`` is an admin, supervisor or auditor.
            NotFound: for an unknown agency.
        """
        with self._access.transaction(acting, "user.list", write=False) as (session, _):
            query = select(User).order_by(User.username)
            if agency_slug is not None:
                query = query.where(User.agency_id == _agency(session, agency_slug).id)
            if not include_disabled:
                query = query.where(User.active)
            return [UserInfo.of(u) for u in session.scalars(query)]

    def account_actions(self, acting: Principal) -> dict[str, tuple[str, ...]]:
        """For each account, the account actions ``acting`` may take on it now (approve,
        certify training, disable, enable, set its password), for pages to offer."""
        names = ("user.approve", "user.certify_training", "user.disable", "user.enable")
        with self.db.read() as session:
            users = session.scalars(select(User).order_by(User.username)).all()
            return {
                u.username: tuple(
                    n
                    for n in names
                    if self._access.may_account(session, acting, n, u) and _fits(n, u)
                )
                for u in users
            }

    def get_user(self, acting: Principal, username: str) -> UserInfo:
        """Return one account: one's own, or anyone's as admin, supervisor or auditor.

        Raises:
            PermissionDenied: for another's account without one of those roles.
            NotFound: for an unknown username.
        """
        with self._on_account(acting, "user.show", username, write=False) as (_, _, user):
            return UserInfo.of(user)

    # -- helpers ----------------------------------------------------------------------------

    @contextmanager
    def _on_account(
        self, acting: Principal, name: str, username: str, *, write: bool = True
    ) -> Iterator[tuple[Session, Principal, User]]:
        """A transaction in which ``acting`` may take action ``name`` on account ``username``
        (the registry's own-account, other-account and account-creator rules)."""
        with self._access.transaction(acting, name, write=write) as (session, me):
            user = _user(session, username)
            self._access.require_account(session, me, name, user)
            yield session, me, user

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
            action=LedgerAction.AGENCY_CREATE,
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
            action=LedgerAction.USER_CREATE,
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
        self,
        session: Session,
        acting: Principal,
        action: LedgerAction,
        user: User,
        **payload: Any,
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


def _unknown_key(username: str) -> str:
    """The throttling key of a username no account has: a hash, never the text."""
    return "unknown:" + hashlib.sha256(username.encode("utf-8")).hexdigest()[:32]


def _fits(name: str, user: User) -> bool:
    """Whether the account's state accepts the action (approve once; disable the active)."""
    return {
        "user.approve": not user.approved,
        "user.disable": user.active,
        "user.enable": not user.active,
    }.get(name, True)


def _revoke_tokens(session: Session, user: User) -> int:
    """Revoke every API token of ``user`` not revoked yet; return how many there were."""
    now = utcnow()
    live = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in live:
        token.revoked_at = now
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
