"""Health, logging in and out, and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter, Request

from faceledger import __version__
from faceledger.api.auth import Acting, BearerToken, Service
from faceledger.api.schemas import Health, LoginIn, LoginOut, UserOut
from faceledger.errors import InvalidInput
from faceledger.governance.tokens import API_TOKEN_PREFIX
from faceledger.service.accounts import SESSION_LIFETIME

router = APIRouter()


@router.get("/health", summary="Health check", tags=["system"], response_model=Health)
def health() -> Health:
    """Say the API is up (public, no token needed)."""
    return Health(status="ok", version=__version__)


@router.post("/auth/login", summary="Log in", tags=["auth"], response_model=LoginOut)
def login(service: Service, body: LoginIn, request: Request) -> LoginOut:
    """Check a username and password and open a 12-hour session (public). Send the returned
    token as `Authorization: Bearer <token>`. A failed attempt is recorded in the ledger;
    repeated failures lock the account and the client address out for a while (429)."""
    client = request.client.host if request.client else None
    token = service.accounts.login(body.username, body.password, client)
    return LoginOut(token=token, expires_in=int(SESSION_LIFETIME.total_seconds()))


@router.post("/auth/logout", summary="Log out", tags=["auth"], status_code=204)
def logout(service: Service, acting: Acting, token: BearerToken) -> None:
    """End the session of the session token sent (any role). API tokens are not ended here:
    an administrator revokes them with `POST /tokens/{token_id}/revoke`."""
    if token.startswith(API_TOKEN_PREFIX):
        raise InvalidInput(
            f"{acting.username}: logout ends a login session; an API token is revoked with "
            "POST /tokens/{token_id}/revoke."
        )
    service.accounts.logout(token)


@router.get("/me", summary="Who am I", tags=["auth"], response_model=UserOut)
def me(acting: Acting) -> UserOut:
    """Return the calling account (any role)."""
    return UserOut.model_validate(acting.to_dict())
