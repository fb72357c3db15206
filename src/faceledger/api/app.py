"""The app factory: :func:`build_api` makes the FastAPI app the server mounts at ``/api/v1``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from faceledger import __version__
from faceledger.api.auth import AUTH_DESCRIPTION
from faceledger.api.docs_assets import install_docs
from faceledger.api.errors import InternalErrors, install_error_handlers
from faceledger.api.headers import API_HEADERS, ResponseHeaders
from faceledger.api.routers import (
    accounts,
    alerts,
    cases,
    disclosures,
    galleries,
    images,
    ledger,
    misuse,
    models,
    policy,
    requests,
    retention,
    system,
    tokens,
    transparency,
    violations,
    witnesses,
)
from faceledger.api.schemas import ErrorBody
from faceledger.api.uploads import BodyLimit
from faceledger.service import FaceLedger

__all__ = ["TITLE", "build_api"]

TITLE = "faceledger API"
DESCRIPTION = f"""
Governed police face search: file a search request with its legal basis, run the approved
search, review the candidates twice, release leads — every step decided by the active policy
profile and written to a verifiable ledger.

**Authentication.** {AUTH_DESCRIPTION} Without a valid token every route answers 401, except
`GET /health`, `GET /ledger/public-key`, `POST /auth/login` and the witness routes
`GET /ledger/checkpoints/latest/note`, `GET /ledger/consistency` and
`POST /ledger/cosignatures` (they carry only tree hashes; a cosignature authenticates itself).

**Errors.** Every error has one shape, `{{"error": {{"code", "message", "details"}}}}`: e.g.
403 `policy_denied` with every reason in `details.reasons`, 403 `permission_denied`, 404
`not_found`, 409 `conflict` for a step that does not fit the request's state, 413 for an
upload over the size limit, 422 `invalid_input` naming the fields in `details.fields`, 400
`invalid_input` for a body that cannot be read or a value the schema admits but a rule does
not, 429 `too_many_attempts` after repeated failed logins.

**Lists** are pages: `{{"items", "total", "limit", "offset"}}`, with `limit` and `offset` query
parameters.
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (
            400,
            "The body cannot be read, or a value fits the schema but not a rule of ours "
            "(a name's pattern, a date's range, control characters; `details.field`).",
        ),
        (401, "No valid token (`WWW-Authenticate: Bearer`)."),
        (403, "The caller's role, or the policy, does not allow this."),
        (404, "No such object, or one the caller may not see."),
        (409, "The change clashes with the current state."),
        (413, "The request body, or the uploaded image, is over its size limit."),
        (422, "The request is not valid (fields named in `details.fields`)."),
        (
            429,
            "Too many failed logins from this address or for this account, or too many face "
            "analyses of this caller at once; wait `details.retry_after_seconds`.",
        ),
        (
            503,
            "The face pipeline is busy, or an analysis ran past its time box "
            "(`analysis_timeout_seconds`); nothing was written: retry after "
            "`details.retry_after_seconds`.",
        ),
    )
}

_TAGS = [
    {"name": "system", "description": "Health."},
    {"name": "auth", "description": "Logging in and out; who the caller is."},
    {"name": "accounts", "description": "Agencies and accounts (R1, R2)."},
    {"name": "tokens", "description": "API tokens for programs (admin)."},
    {"name": "policy", "description": "The active policy profile."},
    {"name": "requests", "description": "The search lifecycle."},
    {"name": "images", "description": "Probe photos, face crops and candidate chips."},
    {"name": "violations", "description": "Violations (R18)."},
    {"name": "galleries", "description": "Galleries of enrolled photos."},
    {"name": "models", "description": "Model evaluations and the deployment gate (R15, R16)."},
    {"name": "ledger", "description": "The verifiable ledger."},
    {"name": "cases", "description": "Case queries over requests and searches (R12, R13)."},
    {"name": "disclosures", "description": "Defence disclosure packets (R14)."},
    {"name": "transparency", "description": "The transparency report (R17)."},
    {"name": "retention", "description": "The purge report: what retention removed (R13)."},
    {"name": "misuse", "description": "Misuse analytics: scans and findings (R18)."},
    {"name": "alerts", "description": "Alerts raised by violations and findings (R18)."},
]


def build_api(service: FaceLedger) -> FastAPI:
    """Return the REST API over ``service``, to be mounted at ``/api/v1``.

    Endpoints are synchronous: FastAPI runs them in its thread pool, and each use case opens
    its own transaction.
    """
    app = FastAPI(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        responses=_ERRORS,
        openapi_tags=_TAGS,
        # The docs come from bundled files (docs_assets), or not at all.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if service.settings.api_docs else None,
    )
    app.state.service = service
    if service.settings.api_docs:
        install_docs(app, TITLE)
    install_error_handlers(app)
    # The last middleware added runs first: unexpected errors are caught around everything,
    # and every response, the 500 too, gets the API headers.
    app.add_middleware(BodyLimit, max_image_bytes=service.settings.max_image_bytes)
    app.add_middleware(InternalErrors)
    app.add_middleware(ResponseHeaders, headers=API_HEADERS)
    for module in (
        system,
        accounts,
        tokens,
        policy,
        requests,
        images,
        violations,
        galleries,
        models,
        ledger,
        cases,
        disclosures,
        transparency,
        retention,
        misuse,
        alerts,
        witnesses,
    ):
        app.include_router(module.router)
    return app
