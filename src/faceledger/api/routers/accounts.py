"""Agencies and accounts (R1, R2). The service checks every role; refusals are recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from faceledger.api.auth import Acting, Service
from faceledger.api.pagination import Page, Paging, page_of
from faceledger.api.schemas import AgencyIn, AgencyOut, CertifyIn, PasswordIn, UserIn, UserOut
from faceledger.governance.accounts import UserInfo

router = APIRouter()

Username = Annotated[str, Path(min_length=1, max_length=64, description="The account's name.")]


def _user(info: UserInfo) -> UserOut:
    return UserOut.model_validate(info.to_dict())


# -- agencies --------------------------------------------------------------------------------


@router.get("/agencies", summary="List agencies", tags=["accounts"], response_model=Page[AgencyOut])
def list_agencies(service: Service, acting: Acting, paging: Paging) -> Page[AgencyOut]:
    """Every agency, by slug (any role)."""
    # Every role holds policy.read: this asks only for an approved, active account.
    agencies = [
        AgencyOut.model_validate(a.to_dict()) for a in service.accounts.list_agencies(acting)
    ]
    return page_of(agencies, paging)


@router.post(
    "/agencies",
    summary="Create an agency",
    tags=["accounts"],
    response_model=AgencyOut,
    status_code=201,
)
def create_agency(service: Service, acting: Acting, body: AgencyIn) -> AgencyOut:
    """Create an agency: an operating unit runs searches, a requesting agency files requests
    (admin)."""
    agency = service.accounts.create_agency(
        acting, body.slug, body.name, body.kind, body.jurisdiction
    )
    return AgencyOut.model_validate(agency.to_dict())


# -- users -----------------------------------------------------------------------------------


@router.get("/users", summary="List accounts", tags=["accounts"], response_model=Page[UserOut])
def list_users(
    service: Service,
    acting: Acting,
    paging: Paging,
    agency: Annotated[str | None, Query(max_length=64, description="Only this agency.")] = None,
    include_disabled: Annotated[bool, Query(description="Also disabled accounts.")] = True,
) -> Page[UserOut]:
    """Accounts by username (admin, supervisor, auditor)."""
    users = service.accounts.list_users(acting, agency, include_disabled)
    return page_of([_user(u) for u in users], paging)


@router.post(
    "/users",
    summary="Create an account",
    tags=["accounts"],
    response_model=UserOut,
    status_code=201,
)
def create_user(service: Service, acting: Acting, body: UserIn) -> UserOut:
    """Create an account (admin). It cannot act until a supervisor approves it (R2)."""
    roles = [r.value for r in body.roles]
    return _user(
        service.accounts.create_user(
            acting, body.username, body.display_name, body.agency, roles, body.password
        )
    )


@router.get(
    "/users/{username}", summary="Show an account", tags=["accounts"], response_model=UserOut
)
def get_user(service: Service, acting: Acting, username: Username) -> UserOut:
    """One account: one's own (any role), or anyone's (admin, supervisor, auditor)."""
    return _user(service.accounts.get_user(acting, username))


@router.post(
    "/users/{username}/approve",
    summary="Approve an account",
    tags=["accounts"],
    response_model=UserOut,
)
def approve_user(service: Service, acting: Acting, username: Username) -> UserOut:
    """Approve an account so it may act (supervisor, never one's own; R2)."""
    return _user(service.accounts.approve_user(acting, username))


@router.post(
    "/users/{username}/certify-training",
    summary="Certify training",
    tags=["accounts"],
    response_model=UserOut,
)
def certify_training(
    service: Service, acting: Acting, username: Username, body: CertifyIn
) -> UserOut:
    """Record that an account's training is valid through a date (supervisor, never one's
    own; R2)."""
    return _user(service.accounts.certify_training(acting, username, body.certified_until))


@router.post(
    "/users/{username}/disable",
    summary="Disable an account",
    tags=["accounts"],
    response_model=UserOut,
)
def disable_user(service: Service, acting: Acting, username: Username) -> UserOut:
    """Disable an account and end its sessions; its API tokens stop working (admin,
    supervisor)."""
    return _user(service.accounts.disable_user(acting, username))


@router.post(
    "/users/{username}/enable",
    summary="Enable an account",
    tags=["accounts"],
    response_model=UserOut,
)
def enable_user(service: Service, acting: Acting, username: Username) -> UserOut:
    """Enable a disabled account again (admin, supervisor)."""
    return _user(service.accounts.enable_user(acting, username))


@router.put(
    "/users/{username}/password",
    summary="Set a password",
    tags=["accounts"],
    response_model=UserOut,
)
def set_password(service: Service, acting: Acting, username: Username, body: PasswordIn) -> UserOut:
    """Set an account's password and end its sessions: one's own (any role), or anyone's
    (admin)."""
    return _user(
        service.accounts.set_password(acting, username, body.password, body.current_password)
    )
