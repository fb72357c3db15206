"""Logging in and out, the login redirect, CSRF protection, security headers, error pages."""

from __future__ import annotations

import pytest

from faceledger.errors import ConfigError
from faceledger.web import build_web
from faceledger.web.auth import SESSION_COOKIE
from tests.integration.web.conftest import Site, csrf_of


def test_pages_redirect_to_login_and_back(module_site: Site) -> None:
    client = module_site.anonymous()
    answer = client.get("/queue?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/queue%3Fx%3D1"
    login_page = client.get(answer.headers["location"])
    assert login_page.status_code == 200
    assert 'name="next" value="/queue?x=1"' in login_page.text
    posted = client.post(
        "/login",
        data={
            "username": "ex-smith",
            "password": "correct horse battery staple",
            "csrf_token": csrf_of(login_page.text),
            "next": "/queue?x=1",
        },
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/queue?x=1"
    cookie = posted.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    queue = client.get("/queue?x=1")
    assert queue.status_code == 200 and "Queue" in queue.text


def test_wrong_password_rerenders_the_form(module_site: Site) -> None:
    client = module_site.anonymous()
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": "ex-smith", "password": "wrong", "csrf_token": token}
    )
    assert answer.status_code == 401
    assert "Unknown username or wrong password." in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(module_site: Site, target: str) -> None:
    client = module_site.anonymous()
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={
            "username": "aud-green",
            "password": "correct horse battery staple",
            "csrf_token": token,
            "next": target,
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_login_form_needs_its_csrf_token(module_site: Site) -> None:
    client = module_site.anonymous()
    client.get("/login")
    answer = client.post(
        "/login",
        data={"username": "ex-smith", "password": "correct horse battery staple"},
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_logout_ends_the_session(module_site: Site) -> None:
    client = module_site.anonymous()
    assert module_site.login(client, "det-jones").status_code == 303
    assert client.get("/").status_code == 200
    stolen = client.cookies.get(SESSION_COOKIE)
    answer = client.post("/logout", data={"csrf_token": csrf_of(client.get("/logout").text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert client.get("/").status_code == 303
    # The old cookie is dead server-side too, not only forgotten by this browser.
    replay = module_site.anonymous()
    replay.cookies.set(SESSION_COOKIE, stolen or "")
    assert replay.get("/").status_code == 303


def test_forged_cookie_is_refused(module_site: Site) -> None:
    client = module_site.anonymous()
    client.cookies.set(SESSION_COOKIE, "not-a-signed-value")
    assert client.get("/").headers["location"] == "/login"


@pytest.mark.parametrize("token", [None, "", "0" * 64], ids=["missing", "empty", "wrong"])
def test_post_without_the_right_csrf_token_changes_nothing(
    module_site: Site, token: str | None
) -> None:
    admin = module_site.as_("admin")
    before = module_site.ledger_size()
    data = {"slug": "csrf-pd", "name": "CSRF PD", "kind": "requesting_agency"}
    if token is not None:
        data["csrf_token"] = token
    answer = admin.post("/admin/agencies", data=data)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert module_site.ledger_size() == before
    agencies = module_site.service.accounts.list_agencies(module_site.user("admin"))
    assert "csrf-pd" not in [a.slug for a in agencies]


def test_another_sessions_csrf_token_is_refused(module_site: Site) -> None:
    other = csrf_of(module_site.as_("sup-brown").get("/").text)
    admin = module_site.as_("admin")
    before = module_site.ledger_size()
    answer = admin.post("/policy", data={"profile": "lab", "csrf_token": other})
    assert answer.status_code == 403
    assert module_site.ledger_size() == before
    assert module_site.service.policy.active_profile().name == "massachusetts"


@pytest.mark.parametrize("path", ["/login", "/", "/static/faceledger.css", "/no/such/page"])
def test_security_headers(module_site: Site, path: str) -> None:
    client = module_site.as_("aud-green") if path != "/login" else module_site.anonymous()
    headers = client.get(path).headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    if not path.startswith("/static/"):
        assert headers["cache-control"] == "no-store"


def test_not_found_page(module_site: Site) -> None:
    answer = module_site.as_("aud-green").get("/no/such/page")
    assert answer.status_code == 404
    assert "There is no page at this address." in answer.text
    assert "aud-green" in answer.text  # the header still knows who is signed in
    assert module_site.as_("aud-green").get("/requests/99999").status_code == 404


def test_server_error_page_shows_no_trace(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    client = site.anonymous(raise_server_exceptions=False)
    site.login(client, "det-jones")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(site.service.requests, "list_requests", broken)
    answer = client.get("/requests")
    assert answer.status_code == 500
    assert "Something went wrong" in answer.text
    assert "secret internals" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["x-frame-options"] == "DENY"


def test_oversized_form_is_refused_before_reading(module_site: Site) -> None:
    module_site.as_("det-jones")  # logged in first: a login is a ledger entry too
    before = module_site.ledger_size()
    # The form may carry the probe as base64 text (4/3 of the image limit) besides its fields;
    # well past that, the body is refused from its Content-Length before it is read.
    too_big = b"\0" * (module_site.service.settings.max_image_bytes * 2 + 2 * 1024 * 1024)
    answer = module_site.post(
        "det-jones",
        "/requests/new",
        "/requests/new",
        data={"case_number": "BPD-HUGE"},
        files={"probe": ("probe.jpg", too_big, "image/jpeg")},
    )
    assert answer.status_code == 413 and "Too large" in answer.text
    assert module_site.ledger_size() == before


def test_a_short_secret_is_refused(module_site: Site) -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        build_web(module_site.service, b"too short")
