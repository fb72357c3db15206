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
from faceledger.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from faceledger.governance.accounts import Principal, User, UserInfo, check_display_name
from faceledger.governance.actions import ACTIONS
from faceledger.governance.tokens import (
    API_TOKEN_PREFIX,
    MAX_TOKEN_DAYS,
    ApiToken,
    ApiTokenInfo,
    api_token_digest,
    new_api_token,
)
from faceledger.service.access import Access, Refused
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction

__all__ = ["LAST_USED_RESOLUTION", "ApiTokenInfo", "TokenUseCases"]

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, so that reading with a token
does not turn every API call into a database write."""


class TokenUseCases:
    """API tokens. A token acts as the person it was issued to, so only that person can issue
    it (``token.create``); listing and revoking are one's own, or anyone's for an admin
    (``token.manage``)."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._access, self.db, self.ledger = access, ctx.db, ctx.ledger

    def create_api_token(
        self, acting: Principal, username: str, name: str, expires_days: int | None = None
    ) -> tuple[ApiTokenInfo, str]:
        """Issue an API token for ``acting``'s own account ``username``; return its record and
        the token.

        The token is returned only this once; only its SHA-256 is stored. ``expires_days``
        None means it runs until revoked.

        Raises:
            PermissionDenied: for another person's account: nobody, an admin included, may mint
                a credential that acts as someone else (recorded, R18).
            InvalidInput: for a bad name or a lifetime outside 1..MAX_TOKEN_DAYS days.
            NotFound: for an unknown username.
            Conflict: if the account is disabled or not approved (the token could not be used).
        """
        name = check_display_name(name, "Token name")
        if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
            raise InvalidInput(
                f"expires_days must be between 1 and {MAX_TOKEN_DAYS}, got {expires_days}.",
                field="expires_days",
            )
        token, digest = new_api_token()
        with self._access.transaction(acting, "token.create") as (session, fresh):
            user = _user(session, username)
            if user.id != fresh.id:
                raise Refused(
                    "token.create",
                    PermissionDenied(
                        f"{fresh.username} may not issue an API token for {username!r}: a token "
                        f"acts as the person it is issued to, so only {username} can issue one.",
                        username=username,
                    ),
                    ["R1", "R18"],
                )
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
                created_by_id=fresh.id,
                created_at=now,
                expires_at=None if expires_days is None else now + dt.timedelta(days=expires_days),
            )
            session.add(row)
            session.flush()
            info = ApiTokenInfo.of(row)
            self.ledger.append(
                session,
                actor=fresh.ledger_actor,
                action=LedgerAction.TOKEN_CREATE,
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

    def revoke_api_token(self, acting: Principal, token_id: int) -> ApiTokenInfo:
        """Revoke an API token (one's own, or anyone's as admin); it is refused from then on.

        Raises:
            PermissionDenied: for another person's token without the admin role (recorded).
            NotFound: for an unknown token id.
            Conflict: if it is revoked already.
        """
        with self._access.transaction(acting, "token.manage") as (session, fresh):
            row = session.get(ApiToken, token_id)
            if row is None:
                raise NotFound(f"There is no API token {token_id}.", token_id=token_id)
            self._access.require_account(session, fresh, "token.manage", row.user)
            if row.revoked_at is not None:
                raise Conflict(f"API token {token_id} is revoked already.")
            row.revoked_at = utcnow()
            session.flush()
            self.ledger.append(
                session,
                actor=fresh.ledger_actor,
                action=LedgerAction.TOKEN_REVOKE,
                object_type="api_token",
                object_id=str(row.id),
                payload={"token_id": row.id, "username": row.user.username, "name": row.name},
            )
            return ApiTokenInfo.of(row)

    def list_api_tokens(self, acting: Principal, username: str | None = None) -> list[ApiTokenInfo]:
        """Return API tokens (revoked and expired ones too), oldest first: one's own, or, for
        an admin, everyone's or those of ``username``.

        Raises:
            PermissionDenied: for another person's tokens without the admin role (recorded).
            NotFound: for an unknown username.
        """
        with self._access.transaction(acting, "token.manage", write=False) as (session, fresh):
            query = select(ApiToken).order_by(ApiToken.id)
            if username is not None:
                owner = _user(session, username)
                self._access.require_account(session, fresh, "token.manage", owner)
                query = query.where(ApiToken.user_id == owner.id)
            elif not fresh.roles & ACTIONS["token.manage"].roles:  # others' tokens: the roles
                query = query.where(ApiToken.user_id == fresh.id)
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
            user = UserInfo.of(row.user, token_id=row.id)
            token_id, last_used = row.id, row.last_used_at
        if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
            # Bookkeeping, not a governed change, so no ledger entry: every action taken with
            # the token is recorded under its account and names the token.
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
