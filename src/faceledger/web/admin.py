"""Administration: agencies, accounts (with supervisors' approvals and training) and API tokens.

API tokens appear only when the service offers them (``create_api_token``); a new token is
shown once, on the page that answers its creation, and never again.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faceledger.errors import FaceLedgerError, InvalidInput, NotFound
from faceledger.governance.context import AgencyKind, Role
from faceledger.web.auth import FormPost, Viewer, need
from faceledger.web.params import RecordId
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()

Admin = Annotated[Viewer, Depends(need("agency.create"))]
TokenHolder = Annotated[Viewer, Depends(need("token.create"))]
AccountKeeper = Annotated[Viewer, Depends(need("user.list"))]
USER_FIELDS = ("username", "display_name", "agency", "password")
AGENCY_FIELDS = ("slug", "name", "kind", "jurisdiction")


# -- agencies -------------------------------------------------------------------------------


def _agencies_page(
    request: Request,
    viewer: Viewer,
    values: dict[str, str] | None = None,
    error: FaceLedgerError | None = None,
) -> Response:
    return page(
        request,
        viewer,
        "agencies.html",
        title="Agencies",
        status=error.status if error else 200,
        error=error,
        agencies=web_of(request).service.accounts.list_agencies(viewer.user),
        kinds=[k.value for k in AgencyKind],
        values=values or dict.fromkeys(AGENCY_FIELDS, ""),
    )


@router.get("/admin/agencies")
def agencies(request: Request, viewer: Admin) -> Response:
    """Every agency; admins create new ones."""
    return _agencies_page(request, viewer)


@router.post("/admin/agencies")
def create_agency(request: Request, post: FormPost) -> Response:
    """Create an agency (the service allows admins only)."""
    values = {k: post.text(k) for k in AGENCY_FIELDS}
    try:
        web_of(request).service.accounts.create_agency(
            post.user, values["slug"], values["name"], values["kind"], values["jurisdiction"]
        )
    except FaceLedgerError as exc:
        return _agencies_page(request, post.viewer, values, exc)
    return RedirectResponse("/admin/agencies", status_code=303)


# -- accounts -------------------------------------------------------------------------------


def _users_page(
    request: Request,
    viewer: Viewer,
    values: dict[str, Any] | None = None,
    error: FaceLedgerError | None = None,
) -> Response:
    service = web_of(request).service
    return page(
        request,
        viewer,
        "users.html",
        title="Accounts",
        status=error.status if error else 200,
        error=error,
        users=service.accounts.list_users(viewer.user),
        offers=service.accounts.account_actions(viewer.user),
        can_create=service.access.allows(viewer.user, "user.create"),
        agencies=service.accounts.list_agencies(viewer.user),
        all_roles=[r.value for r in Role],
        values=values or {**dict.fromkeys(USER_FIELDS, ""), "roles": []},
        today=dt.date.today().isoformat(),
        next_year=(dt.date.today() + dt.timedelta(days=365)).isoformat(),
    )


@router.get("/users")
def users(request: Request, viewer: AccountKeeper) -> Response:
    """Accounts: admins create them; supervisors approve them and certify training."""
    return _users_page(request, viewer)


@router.post("/users")
def create_user(request: Request, post: FormPost) -> Response:
    """Create an account (admin); it cannot log in until a supervisor approves it (R2)."""
    values: dict[str, Any] = {k: post.text(k) for k in USER_FIELDS}
    values["roles"] = post.texts("roles")
    try:
        web_of(request).service.accounts.create_user(
            post.user,
            values["username"],
            values["display_name"],
            values["agency"],
            values["roles"],
            str(post.form.get("password", "")),
        )
    except FaceLedgerError as exc:
        values["password"] = ""
        return _users_page(request, post.viewer, values, exc)
    return RedirectResponse("/users", status_code=303)


ACCOUNT_ACTIONS = ("approve", "disable", "enable", "training")


@router.post("/users/{username}/{action}")
def account_action(request: Request, username: str, action: str, post: FormPost) -> Response:
    """Approve, disable or enable an account, or certify its training until a date."""
    service = web_of(request).service
    try:
        if action == "approve":
            service.accounts.approve_user(post.user, username)
        elif action == "disable":
            service.accounts.disable_user(post.user, username)
        elif action == "enable":
            service.accounts.enable_user(post.user, username)
        elif action == "training":
            service.accounts.certify_training(
                post.user, username, _date(post.text("certified_until"))
            )
        else:
            raise NotFound(f"There is no account action {action!r}.")
    except FaceLedgerError as exc:
        return _users_page(request, post.viewer, error=exc)
    return RedirectResponse("/users", status_code=303)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"certified_until must be a date (YYYY-MM-DD); got {text!r}.", field="certified_until"
        ) from None


# -- API tokens -----------------------------------------------------------------------------


def _tokens_page(
    request: Request,
    viewer: Viewer,
    created: tuple[Any, str] | None = None,
    values: dict[str, str] | None = None,
    error: FaceLedgerError | None = None,
) -> Response:
    service = web_of(request).service
    return page(
        request,
        viewer,
        "tokens.html",
        title="API tokens",
        status=error.status if error else 200,
        error=error,
        tokens=service.tokens.list_api_tokens(viewer.user),
        created=created,
        values=values or {"username": "", "name": "", "expires_days": ""},
    )


@router.get("/admin/tokens")
def tokens(request: Request, viewer: TokenHolder) -> Response:
    """API tokens (never their text): one's own, issued and revoked here; admins also see and
    revoke everyone's."""
    return _tokens_page(request, viewer)


@router.post("/admin/tokens")
def create_token(request: Request, post: FormPost) -> Response:
    """Issue a token for one's own account; its text is on this answer only (not stored, not
    shown again). Nobody issues a token that acts as someone else."""
    service = web_of(request).service
    values = {k: post.text(k) for k in ("name", "expires_days")}
    values["username"] = post.user.username
    try:
        days_text = values["expires_days"]
        if days_text and not days_text.isdigit():
            raise InvalidInput("expires_days must be a whole number of days.")
        created = service.tokens.create_api_token(
            post.user, values["username"], values["name"], int(days_text) if days_text else None
        )
    except FaceLedgerError as exc:
        return _tokens_page(request, post.viewer, values=values, error=exc)
    return _tokens_page(request, post.viewer, created=created)


@router.post("/admin/tokens/{token_id:int}/revoke")
def revoke_token(request: Request, token_id: RecordId, post: FormPost) -> Response:
    """Revoke a token; the API refuses it from then on."""
    service = web_of(request).service
    try:
        service.tokens.revoke_api_token(post.user, token_id)
    except FaceLedgerError as exc:
        return _tokens_page(request, post.viewer, error=exc)
    return RedirectResponse("/admin/tokens", status_code=303)
