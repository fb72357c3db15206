"""Who is calling: the service behind the API, and the account a bearer token stands for.

Two kinds of bearer token are accepted, told apart by their prefix:

* an **API token** (``flt_...``), issued by an administrator for a program
  (``POST /tokens``); it lasts until it expires or is revoked;
* a **session token** from ``POST /auth/login`` (username and password), for a person; it
  lasts 12 hours or until ``POST /auth/logout``.

Either way the caller acts as that account, with its roles, and every role and policy check
reads the account as it is now (a disabled account's tokens stop working at once).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from faceledger.errors import Unauthenticated
from faceledger.governance.accounts import UserInfo
from faceledger.governance.tokens import API_TOKEN_PREFIX
from faceledger.service import FaceLedger

__all__ = [
    "AUTH_DESCRIPTION",
    "Acting",
    "BearerToken",
    "Service",
    "authenticate",
    "current_user",
]

AUTH_DESCRIPTION = (
    "Send `Authorization: Bearer <token>`. Two kinds of token are accepted: an **API token** "
    "(starts with `flt_`), issued by an administrator for a program with `POST /tokens` and "
    "valid until it expires or is revoked; or a **session token** from `POST /auth/login` "
    "(username and password), valid for 12 hours or until `POST /auth/logout`. Either way the "
    "caller acts as that account, with its roles."
)

_bearer = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="API token (flt_...) or session token",
    description=AUTH_DESCRIPTION,
    auto_error=False,
)


def get_service(request: Request) -> FaceLedger:
    """Return the service the app was built with."""
    service: FaceLedger = request.app.state.service
    return service


Service = Annotated[FaceLedger, Depends(get_service)]
"""Dependency: the service."""


def _token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated(
            "Authentication required: send Authorization: Bearer <token> with an API token or "
            "a session token from POST /auth/login."
        )
    return credentials.credentials


BearerToken = Annotated[str, Depends(_token)]
"""Dependency: the bearer token sent (401 if none)."""


def authenticate(service: FaceLedger, token: str) -> UserInfo:
    """Return the account ``token`` stands for: an API token, else a login session.

    Raises:
        Unauthenticated: for an unknown, expired or revoked token, or a disabled account.
    """
    if token.startswith(API_TOKEN_PREFIX):
        return service.tokens.user_for_api_token(token)
    return service.accounts.user_for_token(token)


def current_user(service: Service, token: BearerToken) -> UserInfo:
    """Return the calling account (a sync dependency: it reads the database)."""
    return authenticate(service, token)


Acting = Annotated[UserInfo, Depends(current_user)]
"""Dependency: the calling account (401 without a valid token)."""
