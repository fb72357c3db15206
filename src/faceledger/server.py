"""The web service: the REST API at /api/v1 and the web pages at /, over one service.

``prepare`` makes a data directory ready on first start (schema, keys, the first admin) and
``create_app`` builds the ASGI application. ``faceledger serve`` runs it with uvicorn.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from faceledger.config import Settings, load_settings
from faceledger.service import FaceLedger
from faceledger.service.context import KEYS_DIR

WEB_SECRET_FILE = "web_secret"
FIRST_ADMIN = "admin"


@dataclass(frozen=True)
class Prepared:
    """A ready service, and the first admin's password if this start created it (else None)."""

    service: FaceLedger
    admin_password: str | None


def web_secret(settings: Settings) -> bytes:
    """Return the key that signs session cookies, creating it (mode 0600) on first use."""
    path = settings.data_dir / KEYS_DIR / WEB_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def prepare(settings: Settings, actor: str, bootstrap: bool = True) -> Prepared:
    """Initialise the data directory if needed and, on a first start, create the first admin
    (returned password shown once)."""
    service = FaceLedger.initialise(settings, actor)
    password = None
    if bootstrap and not service.accounts.has_accounts():
        _, password = service.accounts.bootstrap_admin(FIRST_ADMIN, "First administrator")
    return Prepared(service, password)


def create_app(service: FaceLedger) -> FastAPI:
    """Return the application: the API mounted at /api/v1, the tiled log at /checkpoint and
    /tile/, the pages at /."""
    from faceledger.api import mount_api
    from faceledger.api.routers.tiles import tiles_router
    from faceledger.ledger import load_public_key
    from faceledger.web import build_web

    app = FastAPI(title="faceledger", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.routes.append(mount_api(service))
    # The tiled log at the root, where tlog-tiles clients look (before "/" takes every path).
    app.include_router(
        tiles_router(service.context.db.engine, load_public_key(service.public_key_path))
    )
    app.mount("/", build_web(service, web_secret(service.settings)))
    # One body limit and body timeout for the API and the pages alike (faceledger.http_limits).
    from faceledger.http_limits import BodyLimit

    app.add_middleware(
        BodyLimit,
        max_image_bytes=service.settings.max_image_bytes,
        body_timeout_seconds=service.settings.body_timeout_seconds,
        close_connection=True,  # serve() lingers on such a close (http_limits.TimedH11Protocol)
    )
    # Keep these two last, so they are the outermost middleware: every response gets them,
    # also those other middleware of this app answer by themselves (a body limit's 413).
    from faceledger.api.headers import API_HEADERS, ResponseHeaders, site_headers

    hsts = service.settings.hsts_max_age_seconds
    app.add_middleware(ResponseHeaders, headers=API_HEADERS, under="/api/v1")
    app.add_middleware(ResponseHeaders, headers=site_headers(hsts))
    return app


def app_from_environment() -> FastAPI:
    """Application factory for worker processes: settings from the environment (the parent
    passes the data directory in ``FACELEDGER_DATA_DIR``)."""
    return create_app(FaceLedger(load_settings()))


def serve(service: FaceLedger, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted, in one process or ``workers`` processes.

    Each worker has its own face pipeline (dlib runs one analysis at a time per process), its
    own vector-index cache kept in step through the gallery generation, and shares the
    database; the ledger serialises appends through its state row. The serving process also
    runs the due jobs every ``jobs_every_seconds`` (:mod:`faceledger.scheduler`).
    """
    import uvicorn

    from faceledger.http_limits import uvicorn_options
    from faceledger.scheduler import DueJobScheduler

    # Header timeout, head size and connection bounds, in this process and in every worker.
    bounds = uvicorn_options(service.settings.header_timeout_seconds)
    interval = service.settings.jobs_every_seconds
    scheduler = DueJobScheduler(service, interval) if interval else None
    if scheduler is not None:
        scheduler.start()
    try:
        if workers <= 1:
            uvicorn.run(create_app(service), host=host, port=port, log_level="info", **bounds)
            return
        os.environ["FACELEDGER_DATA_DIR"] = str(service.settings.data_dir.resolve())
        uvicorn.run(
            "faceledger.server:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            # A worker opens the data directory and its models before it answers uvicorn's
            # health check; on a busy machine that takes longer than the default 5 s, and the
            # worker would be killed and restarted for ever.
            timeout_worker_healthcheck=120,
            **bounds,
        )
    finally:
        if scheduler is not None:
            scheduler.stop()


def data_dir_of(settings: Settings) -> Path:
    """The data directory in use, absolute (for messages)."""
    return settings.data_dir.resolve()
