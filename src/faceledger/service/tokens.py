"""API-token use cases: issue, list and revoke tokens (admins), and resolve a token to its
account (the REST API, on every call).

Issuing and revoking each run in one transaction with their ledger entry (``token.create``,
``token.revoke``). Neither the token nor its hash is ever written to the ledger: the entry
names the token by its id, its account and its name.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from faceledger.governance.accounts import User, UserInfo, check_display_name
from faceledger.governance.tokens import (
    API_TOKEN_PREFIX,
    MAX_TOKEN_DAYS,
    ApiToken,
    ApiTokenInfo,
    api_token_digest,
    new_api_token,
)
from faceledger.service.access import AccessUseCases

__all__ = ["LAST_USED_RESOLUTION", "ApiTokenInfo", "TokenUseCases"]

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, so that reading with a token
does not turn every API call into a database write."""


class TokenUseCases(AccessUseCases):
    """API tokens; issuing and revoking need the ``tokens.manage`` capability (admins)."""

    def create_api_token(
        self, acting: UserInfo, username: str, name: str, expires_days: int | None = None
    ) -> tuple[ApiTokenInfo, str]:
        """Issue an API token that acts as ``username``; return its record and the token.

        The token is returned only this once; only its SHA-256 is stored. ``expires_days``
        None means it runs until revoked.

        Raises:
            PermissionDenied: unless ``acting`` holds ``tokens.manage`` (recorded, R18).
            InvalidInput: for a bad name or a lifetime outside 1..MAX_TOKEN_DAYS days.
            NotFound: for an unknown username.
            Conflict: if the account is disabled or not approved (the token could not be used).
        """
        self.require(acting, "tokens.manage")
        name = check_display_name(name, "Token name")
        if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
            raise InvalidInput(
                f"expires_days must be between 1 and {MAX_TOKEN_DAYS}, got {expires_days}.",
                field="expires_days",
            )
        token, digest = new_api_token()
        with self.db.transaction() as session:
            user = _user(session, username)
            if not (user.active and user.approved):
                raise Conflict(
                    f"Account {username!r} is disabled or not approved; a token for it could "
                    "not be used."
                )
            now = utcnow()
            row = ApiToken(
                user=user,
                name=name,
                token_sha256=digest,
                created_by_id=acting.id,
                created_at=now,
                expires_at=None if expires_days is None else now + dt.timedelta(days=expires_days),
            )
            session.add(row)
            session.flush()
            info = ApiTokenInfo.of(row)
            self.ledger.append(
                session,
                actor=acting.ledger_actor,
                action="token.create",
                object_type="api_token",
                object_id=str(row.id),
                payload={
                    "token_id": row.id,
                    "username": username,
                    "name": name,
                    "expires_at": info.to_dict()["expires_at"],
                },
            )
        return info, token

    def revoke_api_token(self, acting: UserInfo, token_id: int) -> ApiTokenInfo:
        """Revoke an API token; it is refused from then on.

        Raises:
            PermissionDenied: unless ``acting`` holds ``tokens.manage`` (recorded, R18).
            NotFound: for an unknown token id.
            Conflict: if it is revoked already.
        """
        self.require(acting, "tokens.manage")
        with self.db.transaction() as session:
            row = session.get(ApiToken, token_id)
            if row is None:
                raise NotFound(f"There is no API token {token_id}.", token_id=token_id)
            if row.revoked_at is not None:
                raise Conflict(f"API token {token_id} is revoked already.")
            row.revoked_at = utcnow()
            session.flush()
            self.ledger.append(
                session,
                actor=acting.ledger_actor,
                action="token.revoke",
                object_type="api_token",
                object_id=str(row.id),
                payload={"token_id": row.id, "username": row.user.username, "name": row.name},
            )
            return ApiTokenInfo.of(row)

    def list_api_tokens(self, acting: UserInfo, username: str | None = None) -> list[ApiTokenInfo]:
        """Return API tokens (revoked and expired ones too), oldest first, optionally of one
        account.

        Raises:
            PermissionDenied: unless ``acting`` holds ``tokens.manage`` (recorded, R18).
            NotFound: for an unknown username.
        """
        self.require(acting, "tokens.manage")
        with self.db.read() as session:
            query = select(ApiToken).order_by(ApiToken.id)
            if username is not None:
                query = query.where(ApiToken.user_id == _user(session, username).id)
            return [ApiTokenInfo.of(row) for row in session.scalars(query)]

    def user_for_api_token(self, token: str) -> UserInfo:
        """Return the account an API token acts as.

        Raises:
            Unauthenticated: if the token is unknown, revoked or expired, or its account is
                disabled or not approved.
        """
        if not token.startswith(API_TOKEN_PREFIX):
            raise Unauthenticated("This is not an API token.")
        now = utcnow()
        with self.db.read() as session:
            row = session.scalar(
                select(ApiToken).where(ApiToken.token_sha256 == api_token_digest(token))
            )
            if row is None:
                raise Unauthenticated("Unknown API token.")
            problem = row.problem(now)
            if problem is not None:
                raise Unauthenticated(problem)
            user = UserInfo.of(row.user)
            token_id, last_used = row.id, row.last_used_at
        if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
            # Bookkeeping, not a governed change, so no ledger entry: every action taken with
            # the token is recorded under its account anyway.
            with self.db.transaction() as session:
                session.execute(
                    update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                )
        return user


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"There is no account {username!r}.", username=username)
    return user
