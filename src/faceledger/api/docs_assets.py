"""The interactive API documentation (Swagger UI), served from bundled files only.

FastAPI's own docs page loads Swagger UI from a CDN. Here the page, its script, style sheet and
icon all come from the static folder of the installed ``fastapi-offline`` package (Swagger UI
5, which renders the OpenAPI 3.1 documents FastAPI writes), mounted under the API at
``docs/assets/``, and the page's Content-Security-Policy lets it load nothing
from any other origin. The initialiser is a script file too, since the policy runs no inline
script. ReDoc is not served.

:func:`install_docs` adds ``/docs``, ``/docs/assets/...`` and ``/openapi.json`` when the
``api_docs`` setting is on; with it off all of them answer 404 (the app is built with
``openapi_url=None``).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["ASSETS_PATH", "BUNDLE_DIR", "DOCS_CSP", "DOCS_PATH", "BundledAssets", "install_docs"]

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
INITIALISER = "swagger-init.js"
BUNDLED = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"})
"""The files of the bundle the page uses; nothing else in its folder is served."""
BUNDLE_DIR = str(files("fastapi_offline") / "static")
"""The folder holding the bundled Swagger UI files (package data of ``fastapi-offline``)."""

DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
"""Same origin only (the style sheet's icons are data: URLs); no inline script."""

# Reads the document's address from the page, so the file is the same at any mount point.
# validatorUrl: null, or Swagger UI shows a badge from validator.swagger.io.
_INITIALISER_JS = """\
"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis],
    validatorUrl: null,
  });
});
"""

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - documentation</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/{initialiser}"></script>
</body>
</html>
"""


class BundledAssets(StaticFiles):
    """The Swagger UI files of the installed bundle that the docs page uses, and its
    initialiser; any other name is 404."""

    def __init__(self) -> None:
        super().__init__(directory=BUNDLE_DIR)

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Return the asset at ``path``; raise a 404 ``HTTPException`` for any other name."""
        if path == INITIALISER:
            return Response(_INITIALISER_JS, media_type="text/javascript")
        if path not in BUNDLED:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def install_docs(app: FastAPI, title: str) -> None:
    """Serve the docs page and its bundled assets on ``app``, whose ``openapi_url`` names the
    document the page shows (build the app with ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url
    assert openapi_url, "the docs page needs the OpenAPI document"

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        html = _PAGE.format(
            title=escape(title),
            assets=escape(root + ASSETS_PATH),
            openapi=escape(root + openapi_url),
            initialiser=INITIALISER,
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})

    app.mount(ASSETS_PATH, BundledAssets(), name="docs-assets")
