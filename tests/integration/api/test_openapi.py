"""The OpenAPI document, the docs page, and the one error shape for what FastAPI and Starlette
answer on their own (unknown routes, wrong methods, unexpected exceptions)."""

from __future__ import annotations

from typing import Any

from faceledger import __version__
from faceledger.api import build_api
from tests.integration.api.conftest import ApiUnit, error_of, routes_of, serving

PUBLIC = {
    ("get", "/health"),
    ("post", "/auth/login"),
    ("get", "/ledger/public-key"),
    ("get", "/ledger/checkpoints/latest/note"),
    ("get", "/ledger/consistency"),
    ("post", "/ledger/cosignatures"),
}
DOCS = {"/openapi.json", "/docs"}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "delete", "patch"}
    ]


def test_openapi_document_describes_every_route(unit: ApiUnit) -> None:
    response = unit.call(None, "GET", "/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "faceledger API"
    assert spec["info"]["version"] == __version__
    assert "API token" in spec["info"]["description"]
    assert "session token" in spec["info"]["description"]
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert scheme["scheme"] == "bearer" and "POST /auth/login" in scheme["description"]

    documented = {(m.upper(), p) for m, p, _ in operations(spec)}
    served = {(m, p) for m, p in routes_of(build_api(unit.service)) if p not in DOCS}
    assert documented == served
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), f"{where} has no summary"
        assert op.get("description"), f"{where} has no description"
        assert op.get("tags"), f"{where} has no tag"
        secured = bool(op.get("security"))
        assert secured is ((method, path) not in PUBLIC), f"{where}: security is {secured}"
        errors = op["responses"]
        assert "$ref" in str(errors.get("422", "")) and "ErrorBody" in str(errors["422"])


def test_lists_are_pages(unit: ApiUnit) -> None:
    spec = unit.call(None, "GET", "/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for method, path, op in operations(spec):
        ok = op["responses"].get("200") or op["responses"].get("201") or {}
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", f"{method.upper()} {path} returns a bare list"
        ref = schema.get("$ref", "")
        if ref.split("/")[-1].startswith("Page_"):
            fields = schemas[ref.split("/")[-1]]["properties"]
            assert set(fields) == {"items", "total", "limit", "offset"}


def test_docs_page_loads_the_mounted_document(unit: ApiUnit) -> None:
    docs = unit.call(None, "GET", "/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "/api/v1/openapi.json" in docs.text


def test_unknown_route_and_wrong_method_use_the_error_shape(unit: ApiUnit) -> None:
    error_of(unit.call("admin", "GET", "/no/such/route"), 404, "not_found")
    wrong = unit.call("admin", "DELETE", "/me")
    error_of(wrong, 405, "method_not_allowed")
    assert "GET" in wrong.headers["allow"]


def test_unexpected_error_is_500_without_a_stack_trace(unit: ApiUnit) -> None:
    app = build_api(unit.service)

    @app.get("/boom", summary="Fail", description="Fails.")
    def boom() -> None:
        raise RuntimeError("secret internals: /etc/faceledger/db password=hunter2")

    with serving(app) as client:
        response = client.get("/boom")
    error_of(response, 500, "internal_error")
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert "RuntimeError" not in response.text
