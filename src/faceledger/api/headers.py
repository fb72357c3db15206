"""Response headers that every response of a part of the site carries, whoever produced it.

:class:`ResponseHeaders` is pure ASGI: it rewrites the start of each response, so it covers
route responses, error handlers and the answers of other middleware inside it alike (a 413 of
a body limit, a 500 of :class:`~faceledger.api.errors.InternalErrors`). The server wraps the
whole site in it with :func:`site_headers` (nosniff, and HSTS behind TLS) and the API paths
with :data:`API_HEADERS`; :func:`~faceledger.api.build_api` applies :data:`API_HEADERS` too,
so the API keeps them when it is mounted on its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_HEADERS", "ResponseHeaders", "site_headers"]

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
API_HEADERS: Mapping[str, str] = {"Cache-Control": "no-store", **NOSNIFF}
"""On every API response: API answers carry personal data, so no browser or proxy keeps a
copy, and no browser reads a JSON body or an image as something else (a script, a page)."""


def site_headers(hsts_max_age_seconds: int) -> dict[str, str]:
    """Return the headers for every response of the site: ``nosniff``, and with
    ``hsts_max_age_seconds`` > 0 ``Strict-Transport-Security`` with that max-age."""
    headers = dict(NOSNIFF)
    if hsts_max_age_seconds > 0:
        headers["Strict-Transport-Security"] = f"max-age={hsts_max_age_seconds}; includeSubDomains"
    return headers


class ResponseHeaders:
    """ASGI middleware: set ``headers`` on every HTTP response, replacing any value the app set.

    With ``under`` (a path such as ``/api/v1``) only responses to that path and the paths below
    it get them.
    """

    def __init__(self, app: ASGIApp, headers: Mapping[str, str], under: str | None = None) -> None:
        self.app = app
        self.headers = dict(headers)
        self.under = under.rstrip("/") if under else None

    def _applies(self, scope: Scope) -> bool:
        if self.under is None:
            return True
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root) :]
        return path == self.under or path.startswith(self.under + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
