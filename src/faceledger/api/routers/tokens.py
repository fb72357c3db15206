"""API tokens for programs (admin: the ``tokens.manage`` capability)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging, page_of
from faceledger.api.schemas import TokenCreated, TokenIn, TokenOut, id_path

router = APIRouter(tags=["tokens"])


@router.post(
    "/tokens",
    summary="Issue an API token",
    response_model=TokenCreated,
    status_code=201,
)
def create_token(service: Service, acting: Acting, body: TokenIn) -> TokenCreated:
    """Issue an API token that acts as an account (admin). The token is in this response
    only; the server keeps just its SHA-256. Recorded in the ledger (without the token)."""
    info, token = service.tokens.create_api_token(
        acting, body.username, body.name, body.expires_days
    )
    return TokenCreated.model_validate({**info.to_dict(), "token": token})


@router.get("/tokens", summary="List API tokens", response_model=Page[TokenOut])
def list_tokens(
    service: Service,
    acting: Acting,
    paging: Paging,
    username: Annotated[str | None, Query(max_length=64, description="Only this account's.")] = (
        None
    ),
) -> Page[TokenOut]:
    """API tokens, revoked and expired ones too, oldest first (admin)."""
    tokens = service.tokens.list_api_tokens(acting, username)
    return page_of([TokenOut.model_validate(t.to_dict()) for t in tokens], paging)


@router.post("/tokens/{token_id}/revoke", summary="Revoke an API token", response_model=TokenOut)
def revoke_token(
    service: Service, acting: Acting, token_id: Annotated[int, id_path("Token id.")]
) -> TokenOut:
    """Revoke an API token; it is refused from then on (admin). Recorded in the ledger."""
    return TokenOut.model_validate(service.tokens.revoke_api_token(acting, token_id).to_dict())
