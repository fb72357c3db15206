"""Where the API is mounted: :func:`mount_api` gives the route a parent app adds for it."""

from __future__ import annotations

import re

from starlette.routing import Mount
from starlette.types import ASGIApp

from faceledger.api.app import build_api
from faceledger.service import FaceLedger

__all__ = ["API_PREFIX", "ApiMount", "mount_api"]

API_PREFIX = "/api/v1"


class ApiMount(Mount):
    """A mount that takes every path under its prefix, also one holding a line break.

    Starlette compiles a mount's pattern without ``re.DOTALL``, so a path with an encoded
    line break in a parameter (``/api/v1/galleries/a%0Ab``) matched no mount and got the
    parent app's plain-text 404 instead of the API's JSON error shape.
    """

    def __init__(self, path: str, app: ASGIApp) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


def mount_api(service: FaceLedger) -> ApiMount:
    """Return the route that serves the API over ``service`` at ``/api/v1``."""
    return ApiMount(API_PREFIX, build_api(service))
