"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``.

faceledger's own errors carry their status and code (:mod:`faceledger.errors`); this module
renders them, and maps what FastAPI and Starlette raise themselves (validation errors, unknown
routes, wrong methods) and anything unexpected (500, no stack trace) into the same shape.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceledger.errors import FaceLedgerError, InvalidInput

__all__ = [
    "BodyTooLarge",
    "InternalErrors",
    "RaisedInTransport",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger("faceledger.api")

WWW_AUTHENTICATE = 'Bearer realm="faceledger"'

# Codes for the statuses FastAPI and Starlette raise on their own.
_HTTP_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


class BodyTooLarge(InvalidInput):
    """A request body (not an image upload) is over the API's limit."""

    status = 413
    code = "body_too_large"


class RaisedInTransport(HTTPException):
    """Carries a faceledger error out of code that FastAPI wraps (reading the request body):
    FastAPI passes HTTP exceptions through unchanged, anything else becomes a bare 400."""

    def __init__(self, error: FaceLedgerError) -> None:
        super().__init__(status_code=error.status, detail=error.message)
        self.error = error


def _body(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(error: FaceLedgerError, headers: dict[str, str] | None = None) -> JSONResponse:
    """Return the response for a faceledger error (a 401 also says how to authenticate)."""
    extra = dict(headers or {})
    if error.status == 401:
        extra.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return JSONResponse(jsonable_encoder(error.to_dict()), status_code=error.status, headers=extra)


def _faceledger_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FaceLedgerError)
    return error_response(exc)


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The offending input is left out on purpose: it may be a password.
    fields = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    listed = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    more = f" (and {len(fields) - 5} more)" if len(fields) > 5 else ""
    return JSONResponse(
        _body("invalid_input", f"The request is not valid: {listed}{more}.", {"fields": fields}),
        status_code=422,
    )


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if isinstance(exc, RaisedInTransport):
        return error_response(exc.error, headers)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else _phrase(status)
    if status == 400:
        # FastAPI raises this one itself, in its own words, when a body it was to decode
        # (JSON that is not UTF-8, a form it cannot split) cannot be read at all.
        message = "The request body could not be read: send JSON or form data as the route says."
    elif status == 404:
        message = "There is no such API route; see the OpenAPI document at openapi.json."
    elif status == 405:
        allowed = headers.get("Allow") or headers.get("allow") or ""
        message = f"This route does not accept that method; allowed: {allowed or 'none'}."
    if status == 401:
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    code = _HTTP_CODES.get(status, "http_error")
    return JSONResponse(_body(code, message, {}), status_code=status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_error_handlers(app: FastAPI) -> None:
    """Render faceledger errors, validation errors and HTTP errors in the one shape."""
    app.add_exception_handler(FaceLedgerError, _faceledger_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


class InternalErrors:
    """ASGI middleware: an unexpected exception becomes a 500 in the one shape.

    The exception is logged with its stack trace; the client sees only a fixed message. Kept
    inside the app, so a parent app that mounts the API never sees the exception either.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("Unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = JSONResponse(
                _body("internal_error", "An unexpected error occurred; it has been logged.", {}),
                status_code=500,
            )
            await response(scope, receive, send)
