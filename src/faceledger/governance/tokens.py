"""API tokens: long-lived bearer credentials for programs that call the REST API.

An administrator issues a token for a named account; the program then acts as that account,
with its roles, under every policy and role check. Only the token's SHA-256 is stored: the
plain token is shown once, when it is made. A token ends when it expires, when it is revoked,
or (in effect) when its account is disabled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from faceledger.db import Base, UTCDateTime, utcnow
from faceledger.governance.accounts import User

__all__ = [
    "API_TOKEN_PREFIX",
    "MAX_TOKEN_DAYS",
    "ApiToken",
    "ApiTokenInfo",
    "api_token_digest",
    "new_api_token",
]

API_TOKEN_PREFIX = "flt_"
"""Every API token starts with this, so people, secret scanners and the API can tell an API
token from a login session token."""
MAX_TOKEN_DAYS = 3650
_NAME_MAX = 200


class ApiToken(Base):
    """An API token: whose it is, its name, the SHA-256 of its text, and when it ends."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(_NAME_MAX))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")

    def problem(self, now: dt.datetime) -> str | None:
        """Return why the token may not be used at ``now``, or None if it may."""
        if self.revoked_at is not None:
            return "This API token was revoked."
        if self.expires_at is not None and now >= self.expires_at:
            return "This API token has expired."
        if not (self.user.active and self.user.approved):
            return f"Account {self.user.username!r} is disabled or not approved."
        return None


@dataclass(frozen=True)
class ApiTokenInfo:
    """An API token as the service hands it out: never the token text or its hash."""

    id: int
    username: str
    name: str
    created_by: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> ApiTokenInfo:
        """Return the record of a token row (its account and issuer are loaded with it)."""
        return cls(
            id=token.id,
            username=token.user.username,
            name=token.name,
            created_by=token.created_by.username if token.created_by else None,
            created_at=token.created_at,
            expires_at=token.expires_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready values (times in ISO 8601)."""

        def iso(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
        }


def new_api_token() -> tuple[str, str]:
    """Return a new API token (prefix + 256 random bits) and its SHA-256 (hex); store only
    the latter."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, api_token_digest(token)


def api_token_digest(token: str) -> str:
    """Return the SHA-256 (hex) under which an API token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
