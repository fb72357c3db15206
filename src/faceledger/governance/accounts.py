"""Agencies, user accounts and login sessions: the tables, and the pure helpers around them.

Passwords are stored only as argon2id hashes (:mod:`argon2`); session tokens only as their
SHA-256, so neither a database dump nor the ledger holds anything a person could log in with.
:func:`actor_of` turns an account into the :class:`~faceledger.governance.context.Actor` the
policy rules read (R1: agency kind; R2: approval, activity, training).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from faceledger.db import Base, UTCDateTime, utcnow
from faceledger.errors import InvalidInput, Unauthenticated
from faceledger.governance.context import Actor, AgencyKind, Role
from faceledger.governance.inputs import check_text
from faceledger.governance.password_strength import MIN_SCORE, estimate, is_common_password

__all__ = [
    "DEFAULT_HASHER",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Agency",
    "AgencyInfo",
    "LocalOperator",
    "Principal",
    "User",
    "UserInfo",
    "UserSession",
    "actor_of",
    "check_display_name",
    "check_password_strength",
    "check_slug",
    "check_training_until",
    "check_username",
    "generate_password",
    "hash_password",
    "new_session_token",
    "parse_agency_kind",
    "parse_roles",
    "password_needs_rehash",
    "token_digest",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase, short enough that hashing cannot be used to exhaust the CPU.
MAX_PASSWORD_LENGTH = 1024
# argon2-cffi's defaults are RFC 9106's low-memory argon2id profile (t=3, m=64 MiB, p=4).
DEFAULT_HASHER = PasswordHasher()

_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_USERNAME_RE = re.compile(r"[a-z][a-z0-9._-]*")
_SLUG_MAX, _USERNAME_MAX, _NAME_MAX = 64, 64, 200
_KIND_VALUES = ", ".join(f"'{k.value}'" for k in AgencyKind)


# --- tables -------------------------------------------------------------------------------


class Agency(Base):
    """A police agency: the operating unit that runs searches, or one that files requests."""

    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint(f"kind IN ({_KIND_VALUES})", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(_SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(_NAME_MAX))
    kind: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str] = mapped_column(String(_NAME_MAX), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A named person's account; it may act only once a supervisor approved it (R2)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(_USERNAME_MAX), unique=True)
    display_name: Mapped[str] = mapped_column(String(_NAME_MAX))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    # Sorted, comma-separated Role values; read and write through ``roles``.
    role_names: Mapped[str] = mapped_column("roles", String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    # Who created the account: they may not approve it or certify its training (R2).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    training_certified_until: Mapped[dt.date | None] = mapped_column(Date, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship(lazy="joined")
    approved_by: Mapped[User | None] = relationship(
        remote_side=[id], lazy="joined", join_depth=1, foreign_keys=[approved_by_id]
    )

    @property
    def roles(self) -> frozenset[Role]:
        """The account's roles."""
        return frozenset(Role(name) for name in self.role_names.split(",") if name)

    @roles.setter
    def roles(self, roles: Iterable[Role]) -> None:
        self.role_names = ",".join(sorted(Role(r).value for r in roles))


class UserSession(Base):
    """A login: the SHA-256 of its bearer token, when it ends, and whether it was revoked."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship(lazy="joined")

    def is_live(self, now: dt.datetime) -> bool:
        """Return whether the session is neither revoked nor expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at


# --- plain records ------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyInfo:
    """An agency as the service hands it out."""

    id: int
    slug: str
    name: str
    kind: AgencyKind
    jurisdiction: str
    created_at: dt.datetime

    @classmethod
    def of(cls, agency: Agency) -> AgencyInfo:
        """Return the record of an agency row."""
        return cls(
            agency.id,
            agency.slug,
            agency.name,
            AgencyKind(agency.kind),
            agency.jurisdiction,
            agency.created_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready values."""
        return {
            "id": self.id,
            "slug": self.slug,
            "name": self.name,
            "kind": self.kind.value,
            "jurisdiction": self.jurisdiction,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class UserInfo:
    """An account as the service hands it out: no password hash, no sessions."""

    id: int
    username: str
    display_name: str
    agency: str
    agency_kind: AgencyKind
    roles: frozenset[Role]
    approved: bool
    active: bool
    training_certified_until: dt.date | None
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    created_by_id: int | None = None
    token_id: int | None = None
    """The API token this call came with, if any; every ledger entry it makes names it."""

    @classmethod
    def of(cls, user: User, token_id: int | None = None) -> UserInfo:
        """Return the record of a user row (its agency and approver are loaded with it)."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            agency=user.agency.slug,
            agency_kind=AgencyKind(user.agency.kind),
            roles=user.roles,
            approved=user.approved,
            active=user.active,
            training_certified_until=user.training_certified_until,
            approved_by=user.approved_by.username if user.approved_by else None,
            approved_at=user.approved_at,
            created_by_id=user.created_by_id,
            token_id=token_id,
        )

    @property
    def is_local(self) -> bool:
        """False: a person with an account, not the data directory's local operator."""
        return False

    @property
    def ledger_actor(self) -> str:
        """The actor in ledger entries: ``user:<username>``, plus ``+token:<id>`` for a call
        made with an API token."""
        via = f"+token:{self.token_id}" if self.token_id is not None else ""
        return f"user:{self.username}{via}"

    def actor(self) -> Actor:
        """Return the person as the policy rules see them; ``user_id`` is the username."""
        return Actor(
            user_id=self.username,
            roles=self.roles,
            agency_id=self.agency,
            agency_kind=self.agency_kind,
            account_approved=self.approved,
            active=self.active,
            training_certified_until=self.training_certified_until,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready values (roles sorted, dates in ISO 8601)."""
        until = self.training_certified_until
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "agency": self.agency,
            "agency_kind": self.agency_kind.value,
            "roles": sorted(r.value for r in self.roles),
            "approved": self.approved,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
            "active": self.active,
            "training_certified_until": until.isoformat() if until else None,
        }


@dataclass(frozen=True)
class LocalOperator:
    """Whoever runs a command on the data directory itself, with no login.

    The operating-system account that owns the files can read them anyway; the access registry
    lets it do only what it marks ``local_operator`` (galleries, the ledger, due jobs), and
    never a search outside a request under a profile that is not unsafe.
    """

    os_user: str
    roles: frozenset[Role] = frozenset()
    agency: str = ""
    approved: bool = True
    active: bool = True
    id: None = None
    token_id: None = None

    @classmethod
    def current(cls) -> LocalOperator:
        """The local operator of the operating-system user running this process."""
        try:
            return cls(getpass.getuser())
        except (KeyError, OSError):
            return cls("unknown")

    @property
    def is_local(self) -> bool:
        """True: the local operator."""
        return True

    @property
    def username(self) -> str:
        """``local:<os user>``."""
        return f"local:{self.os_user}"

    @property
    def ledger_actor(self) -> str:
        """The actor in ledger entries: ``local:<os user>``."""
        return self.username


Principal = UserInfo | LocalOperator
"""Who acts: a person (logged in, or through an API token) or the local operator."""


def actor_of(user: User) -> Actor:
    """Return the policy :class:`Actor` for a user row (agency id is the agency's slug)."""
    return UserInfo.of(user).actor()


# --- passwords ----------------------------------------------------------------------------


_PASSPHRASE_ADVICE = (
    "Choose a passphrase of four or more unrelated words, or let a password manager generate one."
)


def check_password_strength(
    password: str, username: str | None = None, display_name: str | None = None
) -> None:
    """Return None if ``password`` may be used, else raise. No message repeats the password.

    Raises:
        InvalidInput: if it is shorter than MIN_PASSWORD_LENGTH or longer than
            MAX_PASSWORD_LENGTH characters, blank, contains the username, is a common password
            (:func:`~faceledger.governance.password_strength.is_common_password`), or scores
            below :data:`~faceledger.governance.password_strength.MIN_SCORE` on zxcvbn with
            the username, display name and "faceledger" as known words.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long; "
            f"this one has {len(password)}.",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.",
            field="password",
        )
    if not password.strip():
        raise InvalidInput("The password must not be only spaces.", field="password")
    if username and username.lower() in password.lower():
        raise InvalidInput("The password must not contain the username.", field="password")
    if is_common_password(password):
        raise InvalidInput(
            "This password is a common password (digits and symbols at its ends do not "
            f"change that), one of the first an attacker tries. {_PASSPHRASE_ADVICE}",
            field="password",
        )
    verdict = estimate(password, [u for u in (username, display_name) if u])
    if verdict.score < MIN_SCORE:
        why = verdict.warning or "it is built from words or patterns attackers try early."
        raise InvalidInput(
            f"This password is too easy to guess: {why} {_PASSPHRASE_ADVICE}",
            field="password",
        )


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    """Return the argon2id hash of ``password`` (salted; PHC string format)."""
    return hasher.hash(password)


def verify_password(
    password_hash: str, password: str, hasher: PasswordHasher = DEFAULT_HASHER
) -> None:
    """Return None if ``password`` matches ``password_hash``.

    Raises:
        Unauthenticated: on a mismatch, or a stored hash that cannot be read.
    """
    try:
        hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("Unknown username or wrong password.") from None


def password_needs_rehash(password_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """Return whether a hash was made with other parameters than ``hasher``'s."""
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password(username: str | None = None) -> str:
    """Return a random password of 24 URL-safe characters (144 bits) that passes
    :func:`check_password_strength` for ``username``."""
    while True:
        password = secrets.token_urlsafe(18)
        # A short username can turn up inside a random string; draw again if it does (or,
        # far less likely, if the draw happens to look guessable).
        try:
            check_password_strength(password, username)
        except InvalidInput:
            continue
        return password


# --- session tokens -----------------------------------------------------------------------


def new_session_token() -> tuple[str, str]:
    """Return a new bearer token and its SHA-256 (hex); store only the latter."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """Return the SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- input checks -------------------------------------------------------------------------


def check_training_until(until: object, today: dt.date) -> dt.date:
    """Return ``until`` if it is a date no earlier than ``today``.

    Raises:
        InvalidInput: for anything but a date (a datetime included), or a date in the past.
    """
    if isinstance(until, dt.datetime) or not isinstance(until, dt.date):
        raise InvalidInput(
            f"The training end must be a date, got {until!r}.", field="certified_until"
        )
    if until < today:
        raise InvalidInput(
            f"The training end {until.isoformat()} is in the past (today is {today.isoformat()}).",
            field="certified_until",
        )
    return until


def check_slug(slug: str) -> str:
    """Return an agency slug if it is valid.

    Raises:
        InvalidInput: unless it is 1-64 lowercase letters and digits in words joined by '-'.
    """
    if len(slug) > _SLUG_MAX or not _SLUG_RE.fullmatch(slug):
        raise InvalidInput(
            f"Agency slug {slug!r} is not allowed: use up to {_SLUG_MAX} lowercase letters and "
            "digits, words joined by single '-' (e.g. 'ma-state-police').",
            field="slug",
        )
    return slug


def check_username(username: str) -> str:
    """Return a username if it is valid.

    Raises:
        InvalidInput: unless it is 2-64 characters: a lowercase letter, then lowercase
            letters, digits, '.', '_' or '-'.
    """
    if not 2 <= len(username) <= _USERNAME_MAX or not _USERNAME_RE.fullmatch(username):
        raise InvalidInput(
            f"Username {username!r} is not allowed: use 2-{_USERNAME_MAX} characters, a "
            "lowercase letter first, then lowercase letters, digits, '.', '_' or '-'.",
            field="username",
        )
    return username


def check_display_name(value: str, what: str) -> str:
    """Return ``value`` stripped if it is a usable name.

    Raises:
        InvalidInput: if it holds a control or bidirectional-text character (naming its code
            point), is empty, or is longer than 200 characters.
    """
    check_text(value, what)
    text = value.strip()
    if not text or len(text) > _NAME_MAX or any(not ch.isprintable() for ch in text):
        raise InvalidInput(
            f"{what} must be 1-{_NAME_MAX} printable characters, got {value!r}.", field=what
        )
    return text


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Return the roles named (each a Role value, e.g. 'examiner').

    Raises:
        InvalidInput: for an unknown role, or no role at all.
    """
    roles: set[Role] = set()
    for name in names:
        try:
            roles.add(Role(str(name).strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput(
                f"Unknown role {name!r}; the roles are: {known}.", field="roles"
            ) from None
    if not roles:
        raise InvalidInput("An account needs at least one role.", field="roles")
    return frozenset(roles)


def parse_agency_kind(kind: str) -> AgencyKind:
    """Return the agency kind named.

    Raises:
        InvalidInput: unless it is 'operating_unit' or 'requesting_agency'.
    """
    try:
        return AgencyKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in AgencyKind)
        raise InvalidInput(
            f"Unknown agency kind {kind!r}; the kinds are: {known}.", field="kind"
        ) from None
