"""Logging in and out."""

from __future__ import annotations

import secrets
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from faceledger.errors import FaceLedgerError, InvalidInput, TooManyAttempts, Unauthenticated
from faceledger.web.auth import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    CsrfRejected,
    CurrentViewer,
    FormPost,
    clear_session_cookie,
    resolve_viewer,
    safe_next,
    set_session_cookie,
)
from faceledger.web.render import page
from faceledger.web.state import web_of

router = APIRouter()


def _login_nonce(request: Request) -> tuple[str, bool]:
    """The browser's login-form nonce, and whether it is new (to be set as a cookie)."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if 16 <= len(nonce) <= 64:
        return nonce, False
    return secrets.token_urlsafe(24), True


def _login_page(
    request: Request, next_url: str, username: str = "", error: FaceLedgerError | None = None
) -> Response:
    nonce, new = _login_nonce(request)
    response = page(
        request,
        None,
        "login.html",
        title="Log in",
        status=error.status if error else 200,
        error=error,
        csrf=web_of(request).keys.csrf_for_login(nonce),
        next_url=next_url,
        username=username,
    )
    if new:
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/login",
        )
    return response


@router.get("/login")
def login_form(request: Request, next_url: Annotated[str, Query(alias="next")] = "/") -> Response:
    """The login form; someone already logged in goes straight on."""
    if resolve_viewer(request) is not None:
        return RedirectResponse(safe_next(next_url), status_code=303)
    return _login_page(request, safe_next(next_url))


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password through the service and start a session in a signed cookie."""
    web = web_of(request)
    async with request.form(max_files=0, max_fields=10) as form:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not web.keys.same(web.keys.csrf_for_login(nonce), form.get(CSRF_FIELD)):
            raise CsrfRejected()
        username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
        next_url = safe_next(str(form.get("next", "/")))
    try:
        client = request.client.host if request.client else None
        token = await run_in_threadpool(web.service.accounts.login, username, password, client)
    except (Unauthenticated, TooManyAttempts) as exc:  # 401, or 429 while locked out
        return await run_in_threadpool(_login_page, request, next_url, username, exc)
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.get("/logout")
def logout_form(request: Request, viewer: CurrentViewer) -> Response:
    """A page with the logout button (logging out is a form post, like every change)."""
    return page(request, viewer, "logout.html", title="Log out")


@router.post("/logout")
def logout(request: Request, post: FormPost) -> Response:
    """End the session in the service and drop the cookie."""
    with suppress(Unauthenticated):  # ended meanwhile: logged out either way
        web_of(request).service.accounts.logout(post.viewer.token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/account/password")
def password_form(request: Request, viewer: CurrentViewer) -> Response:
    """Change one's own password: the current one first."""
    return page(request, viewer, "password.html", title="Change your password")


@router.post("/account/password")
def change_password(request: Request, post: FormPost) -> Response:
    """Change one's own password through the service (it checks the current one); every
    session and API token of the account ends, so log in again."""
    new = post.text("new_password")
    try:
        if new != post.text("confirm_password"):
            raise InvalidInput("The two new passwords differ.", field="confirm_password")
        web_of(request).service.accounts.set_password(
            post.user, post.user.username, new, current_password=post.text("current_password")
        )
    except FaceLedgerError as exc:
        status = 400 if isinstance(exc, Unauthenticated) else exc.status
        return page(
            request,
            post.viewer,
            "password.html",
            title="Change your password",
            status=status,
            error=exc,
        )
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response
