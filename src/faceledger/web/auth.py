"""Who is asking: the session cookie, role gates and CSRF-checked form posts.

Handlers declare what they need as FastAPI dependencies: :data:`CurrentViewer` (any logged-in
person), :func:`need` (one of some roles; a page gate only, the service still decides every
action) or :data:`FormPost` (a logged-in person's form whose CSRF token matched).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from faceledger.errors import PermissionDenied, Unauthenticated
from faceledger.governance.accounts import UserInfo
from faceledger.http_limits import base64_bytes, body_limit
from faceledger.web.state import web_of

SESSION_COOKIE = "faceledger_session"
LOGIN_COOKIE = "faceledger_login"
CSRF_FIELD = "csrf_token"
MAX_FORM_FIELDS = 500


class LoginRequired(Exception):
    """No live session: the person is sent to the login page, then back to ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRejected(Exception):
    """A form post without the CSRF token of the session it claims to come from."""


@dataclass(frozen=True)
class Viewer:
    """The logged-in person, their session token and the CSRF token of their forms."""

    user: UserInfo
    token: str
    csrf: str


@dataclass(frozen=True)
class Posted:
    """A form posted by a logged-in person, its CSRF token checked."""

    viewer: Viewer
    form: FormData

    @property
    def user(self) -> UserInfo:
        """The person who posted."""
        return self.viewer.user

    def text(self, name: str) -> str:
        """The field ``name`` stripped of surrounding space ("" when absent)."""
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def texts(self, name: str) -> list[str]:
        """Every non-empty value of a repeated field (checkboxes)."""
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]

    def upload(self, name: str) -> UploadFile | None:
        """The uploaded file of field ``name``, if one was chosen."""
        value = self.form.get(name)
        return value if isinstance(value, UploadFile) and value.filename else None


def safe_next(value: str | None) -> str:
    """Return ``value`` if it is a path on this site, else "/" (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_url(next_url: str) -> str:
    """The login page, returning to ``next_url`` afterwards."""
    target = safe_next(next_url)
    return "/login" if target == "/" else f"/login?next={quote(target, safe='/')}"


def session_token(request: Request) -> str | None:
    """The session token in the request's cookie, if it is there and correctly signed."""
    return web_of(request).keys.unseal(request.cookies.get(SESSION_COOKIE))


def resolve_viewer(request: Request) -> Viewer | None:
    """Return the logged-in person of ``request``, or None (blocking: reads the database)."""
    token = session_token(request)
    if token is None:
        return None
    web = web_of(request)
    try:
        user = web.service.accounts.user_for_token(token)
    except Unauthenticated:
        return None
    viewer = Viewer(user, token, web.keys.csrf_for_session(token))
    request.state.viewer = viewer
    return viewer


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def current_viewer(request: Request) -> Viewer:
    """Dependency: the logged-in person.

    Raises:
        LoginRequired: without a live session.
    """
    viewer = resolve_viewer(request)
    if viewer is None:
        raise LoginRequired(_here(request))
    return viewer


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


def need(*actions: str) -> Callable[[Request, Viewer], Viewer]:
    """Dependency factory: the logged-in person, if the service allows them one of the
    registry ``actions`` (the page's purpose).

    This gates pages only; each action is still decided (and recorded) by the service.
    """
    wanted = frozenset(actions)
    names = ", ".join(sorted(wanted))

    def dependency(request: Request, viewer: CurrentViewer) -> Viewer:
        if not web_of(request).service.access.allowed(viewer.user) & wanted:
            raise PermissionDenied(f"This page is for those who may {names}.", actions=names)
        return viewer

    return dependency


async def form_post(request: Request) -> AsyncIterator[Posted]:
    """Dependency: the posted form of a logged-in person, after the CSRF check.

    Raises:
        LoginRequired: without a live session.
        CsrfRejected: if the form lacks the session's CSRF token.
    """
    viewer = await run_in_threadpool(resolve_viewer, request)
    if viewer is None:
        raise LoginRequired(_here(request))
    # The server's BodyLimit refuses an oversized body first, also while it streams; this is
    # the second line, for the web app run on its own: the same limit, from Content-Length.
    max_image = web_of(request).service.settings.max_image_bytes
    limit, _ = body_limit(request.url.path, request.headers.get("content-type", ""), max_image)
    # A probe kept by the face picker travels as base64 text: 4/3 of the image limit.
    kept = base64_bytes(max_image)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise HTTPException(413, f"The form is larger than the limit of {limit} bytes.")
    form = await request.form(
        max_files=2, max_fields=MAX_FORM_FIELDS, max_part_size=max(kept, 1024 * 1024)
    )
    try:
        if not web_of(request).keys.same(viewer.csrf, form.get(CSRF_FIELD)):
            raise CsrfRejected()
        yield Posted(viewer, form)
    finally:
        await form.close()


FormPost = Annotated[Posted, Depends(form_post)]


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Put the signed session token in an HttpOnly, SameSite=Lax cookie."""
    response.set_cookie(
        SESSION_COOKIE,
        web_of(request).keys.seal(token),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
