"""The web application: routers, security headers and error pages."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceledger.errors import FaceLedgerError, InvalidInput, Unauthenticated
from faceledger.service import FaceLedger
from faceledger.web import (
    admin,
    audit,
    cases,
    disclosure,
    home,
    images,
    login,
    oversight,
    review,
    supervise,
    transparency,
)
from faceledger.web import requests as request_pages
from faceledger.web.auth import (
    CsrfRejected,
    LoginRequired,
    clear_session_cookie,
    login_url,
    resolve_viewer,
)
from faceledger.web.keys import SessionKeys
from faceledger.web.render import ErrorInfo, make_templates, page
from faceledger.web.state import Web

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """ASGI middleware: the security headers on every response; no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_web(service: FaceLedger, secret_key: bytes) -> FastAPI:
    """Return the web application over ``service``; the server mounts it at ``/``.

    ``secret_key`` (at least 32 random bytes) signs session cookies and CSRF tokens; keep it
    stable across restarts, or everyone is logged out.

    Raises:
        ConfigError: for a secret key that is too short.
    """
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = Web(service, SessionKeys(secret_key), make_templates())
    for module in (
        login,
        home,
        request_pages,
        review,
        supervise,
        audit,
        admin,
        images,
        cases,
        disclosure,
        oversight,
        transparency,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("faceledger.web", "static")]), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(FaceLedgerError, _service_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _server_error)
    return app


async def _error_page(request: Request, info: ErrorInfo) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    if viewer is None:
        viewer = await run_in_threadpool(resolve_viewer, request)
    return await run_in_threadpool(
        page, request, viewer, "error.html", title=info.title, status=info.status, error=info
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    response = RedirectResponse(login_url(exc.next_url), status_code=303)
    clear_session_cookie(request, response)
    return response


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    return await _error_page(
        request,
        ErrorInfo(
            403,
            "This form did not come from your current session (missing or wrong CSRF token), "
            "so nothing was changed. Reload the page and try again.",
            code="csrf_rejected",
        ),
    )


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FaceLedgerError)
    if isinstance(exc, Unauthenticated):
        return await _login_required(request, LoginRequired("/"))
    return await _error_page(request, ErrorInfo.of(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: "There is no page at this address.",
        405: "This address does not accept that kind of request.",
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    response = await _error_page(request, ErrorInfo(exc.status_code, message))
    response.headers.update(exc.headers or {})  # e.g. Allow on a 405
    return response


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
    message = "Some values in the address or form are not valid: " + ", ".join(fields) + "."
    return await _error_page(request, ErrorInfo(400, message, code=InvalidInput.code))


async def _server_error(request: Request, exc: Exception) -> Response:
    # Logged for the operators; the person sees no stack trace.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    try:
        response: Response = await _error_page(
            request,
            ErrorInfo(500, "The server could not finish this request. It has been logged."),
        )
    except Exception:
        response = HTMLResponse("<h1>Something went wrong</h1>", status_code=500)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response
