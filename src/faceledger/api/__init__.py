"""The REST API (FastAPI, OpenAPI at ``/api/v1/openapi.json`` once mounted).

:func:`build_api` returns the app; the server mounts it with
``app.mount("/api/v1", build_api(service))``. Every route drives the service layer: role and
policy checks, transactions and ledger entries all happen there.
"""

from faceledger.api.app import build_api

__all__ = ["build_api"]
