"""Response headers (issue 13, item 5): ``Cache-Control: no-store`` and ``nosniff`` on every
API response, errors and middleware answers included; the API docs from bundled assets only,
or none with ``api_docs`` off; HSTS on every response of the site when it is configured.

No face is analysed here: the data directory is a copy of the FAKE-enrolled template
(tests/conftest.py), the cheapest one with a ledger, keys and a gallery.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from faceledger.api import build_api
from faceledger.api.docs_assets import BUNDLE_DIR, DOCS_CSP
from faceledger.api.uploads import JSON_BODY_BYTES
from faceledger.db import Base
from faceledger.server import create_app
from tests.backends import copy_data_dir
from tests.conftest import make_settings
from tests.factories import FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.api.conftest import (
    API,
    ApiUnit,
    error_of,
    mounted,
    running_unit,
    serving,
)

AGENCY = {"slug": "x-pd", "name": "X Police Department", "kind": "requesting_agency"}
YEAR = 31_536_000


@pytest.fixture(scope="module")
def unit(
    fake_enrolled_template: Path, faces_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUnit]:
    """The API unit with its people, over a copy of the FAKE-enrolled template."""
    data_dir = tmp_path_factory.mktemp("headers") / "data"
    with running_unit(fake_enrolled_template, data_dir, faces_dir, fake_pipeline()) as api:
        yield api


@contextmanager
def service_of(template: Path, data_dir: Path, **settings: Any) -> Iterator[FastFaceLedger]:
    """The service over a copy of ``template`` with ``settings``; closed afterwards."""
    copy_data_dir(template, data_dir)
    service = FastFaceLedger(make_settings(data_dir, **settings), pipeline=fake_pipeline())
    try:
        yield service
    finally:
        service.close()


def counts(service: FastFaceLedger) -> dict[str, int]:
    """Rows in every table, the ledger's included."""
    with service.context.db.read() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def assert_api_headers(response: httpx.Response) -> None:
    assert response.headers.get_list("cache-control") == ["no-store"], response.headers
    assert response.headers.get_list("x-content-type-options") == ["nosniff"], response.headers


def declared_too_large(client: httpx.Client, path: str) -> httpx.Response:
    """POST a JSON body that declares one byte over the limit, sending only its headers (the
    server answers before the body, so a client still sending would race its close)."""
    url = urlsplit(str(client.base_url))
    assert url.hostname is not None and url.port is not None
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {JSON_BODY_BYTES + 1}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head.encode())
        reply = b""
        while data := sock.recv(65536):
            reply += data
    status_line, _, rest = reply.partition(b"\r\n")
    header_block, _, content = rest.partition(b"\r\n\r\n")
    headers = [
        (name.strip().decode(), value.strip().decode())
        for name, _, value in (line.partition(b":") for line in header_block.split(b"\r\n"))
    ]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=content)


class _Links(HTMLParser):
    """Every src and href of a page, and the text of its script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [value or "" for name, value in attrs if name in {"src", "href"}]
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def links_of(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


# -- no-store and nosniff on every API response ---------------------------------------------


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [(None, "GET", "/health"), ("admin", "GET", "/me"), ("auditor", "GET", "/ledger/entries")],
)
def test_successful_api_responses_are_not_stored(
    unit: ApiUnit, who: str | None, method: str, path: str
) -> None:
    response = unit.call(who, method, path)
    assert response.status_code == 200, response.text
    assert_api_headers(response)


def test_401_carries_the_headers(unit: ApiUnit) -> None:
    response = unit.call(None, "GET", "/me")
    error_of(response, 401, "unauthenticated")
    assert_api_headers(response)


def test_403_carries_the_headers_and_creates_nothing(unit: ApiUnit) -> None:
    before = counts(unit.service)["agencies"]
    response = unit.call("requester", "POST", "/agencies", json=AGENCY)
    error_of(response, 403, "permission_denied")
    assert_api_headers(response)
    # The refusal itself is recorded (a violation, R18); the agency is not created.
    assert counts(unit.service)["agencies"] == before


def test_404_and_405_carry_the_headers(unit: ApiUnit) -> None:
    missing = unit.call("admin", "GET", "/no/such/route")
    error_of(missing, 404, "not_found")
    assert_api_headers(missing)
    wrong = unit.call("admin", "DELETE", "/me")
    error_of(wrong, 405, "method_not_allowed")
    assert_api_headers(wrong)


def test_413_of_the_body_limit_carries_the_headers_and_writes_nothing(unit: ApiUnit) -> None:
    before = counts(unit.service)
    response = declared_too_large(unit.client, f"{API}/auth/login")
    error_of(response, 413, "body_too_large")
    assert_api_headers(response)
    assert counts(unit.service) == before


def test_422_carries_the_headers_and_writes_nothing(unit: ApiUnit) -> None:
    before = counts(unit.service)
    response = unit.call("admin", "POST", "/agencies", json={**AGENCY, "kind": 5})
    error_of(response, 422, "invalid_input")
    assert_api_headers(response)
    assert counts(unit.service) == before


def test_500_of_the_error_middleware_carries_the_headers(unit: ApiUnit) -> None:
    app = build_api(unit.service)

    @app.get("/boom", summary="Fail", description="Fails.")
    def boom() -> None:
        raise RuntimeError("unexpected")

    with serving(app) as client:
        response = client.get("/boom")
    error_of(response, 500, "internal_error")
    assert_api_headers(response)


# -- the docs: bundled assets only, or off -------------------------------------------------


def test_docs_page_loads_nothing_from_another_origin(unit: ApiUnit) -> None:
    response = unit.call(None, "GET", "/docs")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert_api_headers(response)
    assert response.headers["content-security-policy"] == DOCS_CSP
    assert "script-src 'self';" in DOCS_CSP and "unsafe" not in DOCS_CSP
    page = links_of(response.text)
    assert len(page.links) == 4, page.links  # icon, style sheet, bundle, initialiser
    for link in page.links:
        parts = urlsplit(link)
        assert not parts.scheme and not parts.netloc, link
        assert link.startswith(f"{API}/docs/assets/"), link
    assert page.scripts == ["", ""], "inline script would be refused by the page's policy"
    assert f'data-openapi-url="{API}/openapi.json"' in response.text


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon.png", "image/png"),
        ("swagger-init.js", "javascript"),
    ],
)
def test_docs_assets_load_from_the_bundle(unit: ApiUnit, name: str, media_type: str) -> None:
    page = links_of(unit.call(None, "GET", "/docs").text)
    assert f"{API}/docs/assets/{name}" in page.links
    response = unit.client.get(f"{API}/docs/assets/{name}")
    assert response.status_code == 200, response.text
    assert media_type in response.headers["content-type"]
    assert_api_headers(response)
    bundled = Path(BUNDLE_DIR) / name
    if bundled.exists():
        assert response.content == bundled.read_bytes()
    else:
        assert "SwaggerUIBundle(" in response.text and "dataset.openapiUrl" in response.text
        assert "validatorUrl: null" in response.text  # no badge from validator.swagger.io


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/index.html",
        "/docs/assets/swagger-initializer.js",
        "/docs/assets/redoc.standalone.js",  # in the bundle's folder, but ReDoc is not served
        "/docs/assets/../assets/index.html",
        "/docs/assets/%2e%2e/%2e%2e/app.py",
        "/docs/oauth2-redirect",  # no OAuth2 flow, so no redirect page (its script is inline)
        "/redoc",  # not served
    ],
)
def test_nothing_else_is_served_with_the_docs(unit: ApiUnit, path: str) -> None:
    response = unit.call(None, "GET", path)
    error_of(response, 404, "not_found")
    assert_api_headers(response)


def test_api_docs_off_serves_no_docs_and_no_document(
    fake_enrolled_template: Path, tmp_path: Path
) -> None:
    with (
        service_of(fake_enrolled_template, tmp_path / "data", api_docs=False) as service,
        serving(mounted(service)) as client,
    ):
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
            response = client.get(API + path)
            error_of(response, 404, "not_found")
            assert_api_headers(response)
        assert client.get(API + "/health").status_code == 200


# -- HSTS, and nosniff on the whole site -----------------------------------------------------


@pytest.mark.parametrize("max_age", [0, YEAR])
def test_hsts_on_every_response_of_the_site_only_when_configured(
    fake_enrolled_template: Path, tmp_path: Path, max_age: int
) -> None:
    with (
        service_of(
            fake_enrolled_template, tmp_path / "data", hsts_max_age_seconds=max_age
        ) as service,
        serving(create_app(service)) as client,
    ):
        answers = {
            "api": client.get(f"{API}/health"),
            "api 401": client.get(f"{API}/me"),
            "api 404": client.get(f"{API}/no/such/route"),
            "api 413": declared_too_large(client, f"{API}/auth/login"),
            "page 413": declared_too_large(client, "/login"),
            "api docs": client.get(f"{API}/docs"),
            "page": client.get("/login"),
            "page redirect": client.get("/"),
            "page 404": client.get("/no/such/page"),
            "static": client.get("/static/faceledger.css"),
            "tiles": client.get("/checkpoint"),
        }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "api": 200,
        "api 401": 401,
        "api 404": 404,
        "api 413": 413,
        "page 413": 413,
        "api docs": 200,
        "page": 200,
        "page redirect": 303,
        "page 404": 404,
        "static": 200,
        "tiles": 200,
    }
    expected = [f"max-age={max_age}; includeSubDomains"] if max_age else []
    for name, response in answers.items():
        assert response.headers.get_list("strict-transport-security") == expected, name
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], name
        if name.startswith("api"):
            assert_api_headers(response)
    # Pages hold personal data; the style sheet and the public tiles may be cached.
    assert answers["page"].headers["cache-control"] == "no-store"
    assert "no-store" not in answers["static"].headers.get("cache-control", "")
    assert answers["tiles"].headers["cache-control"].startswith("public, max-age=")
