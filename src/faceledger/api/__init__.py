"""The REST API (FastAPI, OpenAPI at ``/api/v1/openapi.json`` once mounted).

:func:`build_api` returns the app; the server adds it with
``app.router.routes.append(mount_api(service))`` (at ``/api/v1``). Every route drives the
service layer: role and policy checks, transactions and ledger entries all happen there.
"""

from faceledger.api.app import build_api
from faceledger.api.mount import mount_api

__all__ = ["build_api", "mount_api"]
