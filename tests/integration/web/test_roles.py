"""Role checks: each role's pages refuse everyone else, images go only to those the service
allows, and the lab profile is announced on every page once an admin switches to it."""

from __future__ import annotations

import pytest

from faceledger.governance.policy import UnsafeProfileWarning
from tests.integration.web.conftest import Site

EVERYONE = ("admin", "det-jones", "ex-smith", "ex-lee", "sup-brown", "aud-green")
PAGES = {
    "/requests/new": {"det-jones"},
    "/queue": {"ex-smith", "ex-lee"},
    "/supervise": {"sup-brown", "admin"},  # the bootstrap admin is also a supervisor
    "/users": {"sup-brown", "aud-green", "admin"},  # auditors may list accounts (user.list)
    "/admin/agencies": {"admin"},
    "/violations": {"sup-brown", "aud-green", "admin"},
    "/audit/ledger": {"aud-green", "sup-brown", "admin"},
    "/dashboard": {"sup-brown", "aud-green", "admin"},
    "/alerts": {"sup-brown", "aud-green", "admin"},
    "/misuse": {"sup-brown", "aud-green", "admin"},
    "/reports/transparency": {"sup-brown", "aud-green", "admin"},
}
OPEN_TO_ALL = ("/", "/requests", "/policy", "/cases")
REPORT_PERIOD = {"from": "2026-01-01", "to": "2026-12-31", "version": "public"}
POSTS = {
    # Producing a report is recorded, so it is a form post (issue 13 item 5), gated as its page.
    "/reports/transparency": PAGES["/reports/transparency"],
    "/reports/transparency/report.csv": PAGES["/reports/transparency"],
}


@pytest.fixture(scope="module")
def released(module_site: Site) -> tuple[int, int, int]:
    return module_site.released_request()


@pytest.mark.parametrize(("path", "allowed"), PAGES.items(), ids=list(PAGES))
def test_role_pages_refuse_other_roles(module_site: Site, path: str, allowed: set[str]) -> None:
    for user in EVERYONE:
        answer = module_site.as_(user).get(path)
        if user in allowed:
            assert answer.status_code == 200, (user, path, answer.text[:500])
        else:
            assert answer.status_code == 403, (user, path)
            assert "Not allowed" in answer.text and 'data-testid="error"' in answer.text


@pytest.mark.parametrize(("path", "allowed"), POSTS.items(), ids=list(POSTS))
def test_report_posts_refuse_other_roles(module_site: Site, path: str, allowed: set[str]) -> None:
    for user in EVERYONE:
        answer = module_site.post(user, path, "/", data=REPORT_PERIOD)
        if user in allowed:
            assert answer.status_code == 200, (user, path, answer.text[:500])
        else:
            assert answer.status_code == 403, (user, path)
            assert "Not allowed" in answer.text and "(report.transparency)" in answer.text


@pytest.mark.parametrize("path", OPEN_TO_ALL)
def test_common_pages_open_to_every_role(module_site: Site, path: str) -> None:
    for user in EVERYONE:
        assert module_site.as_(user).get(path).status_code == 200, (user, path)


def test_token_page_shows_ones_own_tokens_and_admins_see_all(site: Site) -> None:
    # Everyone may issue a token for their own account (token.create); only admins see and
    # revoke other people's (token.manage).
    for user in ("sup-brown", "admin"):
        made = site.post(user, "/admin/tokens", "/admin/tokens", data={"name": f"{user}-ci"})
        assert made.status_code == 200 and 'data-testid="new-token"' in made.text
    mine = site.as_("sup-brown").get("/admin/tokens")
    assert mine.status_code == 200
    assert "sup-brown-ci" in mine.text and "admin-ci" not in mine.text
    everyone = site.as_("admin").get("/admin/tokens").text
    assert "sup-brown-ci" in everyone and "admin-ci" in everyone
    (admin_token,) = (
        t for t in site.service.tokens.list_api_tokens(site.user("admin")) if t.name == "admin-ci"
    )
    refused = site.post("sup-brown", f"/admin/tokens/{admin_token.id}/revoke", "/admin/tokens")
    assert refused.status_code == 403
    assert not next(
        t for t in site.service.tokens.list_api_tokens(site.user("admin")) if t.name == "admin-ci"
    ).revoked_at


def test_refused_reading_is_recorded_as_a_violation(module_site: Site) -> None:
    assert module_site.as_("det-jones").get("/audit/ledger").status_code == 403
    listed = module_site.as_("aud-green").get("/violations?kind=denied_action").text
    assert "det-jones may not read, export and prove ledger entries (ledger.read)" in listed


def test_requests_of_others_are_not_found(
    module_site: Site, released: tuple[int, int, int]
) -> None:
    request_id, _, _ = released
    assert module_site.as_("det-jones").get(f"/requests/{request_id}").status_code == 200
    # Requesters see their own agency's requests (det-ortiz is of boston-pd too), no other's.
    assert module_site.as_("det-ortiz").get(f"/requests/{request_id}").status_code == 200
    assert module_site.as_("det-cole").get(f"/requests/{request_id}").status_code == 404
    assert f"/requests/{request_id}" not in module_site.as_("det-cole").get("/requests").text


def test_actions_are_decided_by_the_service(module_site: Site) -> None:
    filed = module_site.file_request(case_number="BPD-2026-3003")
    page = filed.headers["location"]
    before = module_site.ledger_size()
    refused = module_site.post("det-jones", f"{page}/search", page)
    assert refused.status_code == 403
    # The page says why, with the requirement, as the service decided it.
    assert "Requirements: R1" in refused.text and "(request.search)" in refused.text
    assert module_site.ledger_size() > before  # the refusal itself is recorded
    assert 'data-testid="request-state">approved<' in module_site.as_("det-jones").get(page).text


@pytest.mark.parametrize(
    ("user", "kind", "status"),
    [
        ("det-cole", "faces", 404),  # another agency's request does not exist for them
        ("det-cole", "candidates", 404),
        ("det-ortiz", "hidden", 403),  # the own agency's request: unreleased chips refused
    ],
)
def test_images_refused_to_those_who_may_not_see_them(
    module_site: Site, released: tuple[int, int, int], user: str, kind: str, status: int
) -> None:
    request_id, lead, hidden = released
    number = {"faces": 0, "candidates": lead, "hidden": hidden}[kind]
    kind = "faces" if kind == "faces" else "candidates"
    answer = module_site.as_(user).get(f"/requests/{request_id}/{kind}/{number}.jpg")
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["cache-control"] == "no-store"


def test_images_need_a_session(module_site: Site, released: tuple[int, int, int]) -> None:
    request_id, lead, _ = released
    client = module_site.anonymous()
    for src in (
        f"/requests/{request_id}/faces/0.jpg",
        f"/requests/{request_id}/candidates/{lead}.jpg",
    ):
        answer = client.get(src)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_auditor_sees_candidate_faces(module_site: Site, released: tuple[int, int, int]) -> None:
    request_id, lead, hidden = released
    # Auditors may read every request, its probe and its candidates (request.probe,
    # request.candidates), released or not.
    for src in ("faces/0", f"candidates/{lead}", f"candidates/{hidden}"):
        chip = module_site.as_("aud-green").get(f"/requests/{request_id}/{src}.jpg")
        assert chip.status_code == 200 and chip.headers["content-type"] == "image/jpeg", src


def test_no_face_image_is_public(module_site: Site) -> None:
    for path in ("/static/", "/static/people", "/static/../templates/base.html"):
        assert module_site.anonymous().get(path).status_code == 404


def test_lab_banner_on_every_page_after_the_switch(site: Site) -> None:
    request_id, _, _ = site.released_request()
    pages = {
        "admin": ["/", "/policy", "/users", "/admin/agencies", "/violations", "/audit/ledger"],
        "det-jones": ["/", "/requests", "/requests/new", f"/requests/{request_id}"],
        "ex-smith": ["/queue", f"/requests/{request_id}", f"/requests/{request_id}/review"],
        "aud-green": ["/audit/ledger", "/audit/entries/1", "/queue", "/no/such/page"],
    }
    assert "UNSAFE_LAB_PROFILE" not in site.as_("det-jones").get("/").text
    # One admin proposes (an unsafe profile needs its name typed), a second admin approves.
    unconfirmed = site.post("admin", "/policy", "/policy", data={"profile": "lab"})
    assert unconfirmed.status_code == 400
    proposed = site.post("admin", "/policy", "/policy", data={"profile": "lab", "confirm": "lab"})
    assert proposed.status_code == 303
    assert site.service.policy.active_profile().name == "massachusetts"
    (proposal,) = site.service.policy.list_proposals(site.user("admin"))
    approve = f"/policy/proposals/{proposal.id}/approve"
    own = site.post("admin", approve, "/policy", data={"confirm": "lab"})
    assert own.status_code == 403
    assert site.service.policy.active_profile().name == "massachusetts"
    assert site.post("admin-2", approve, "/policy", data={"confirm": "lab"}).status_code == 303
    with pytest.warns(UnsafeProfileWarning):
        assert site.service.policy.active_profile().name == "lab"
    for user, paths in pages.items():
        for path in paths:
            html = site.as_(user).get(path).text
            assert 'data-testid="unsafe-banner"' in html, (user, path)
            assert "UNSAFE_LAB_PROFILE" in html and 'data-testid="profile-name">lab<' in html
    login = site.anonymous().get("/login").text
    assert 'data-testid="unsafe-banner"' in login


def test_only_admins_change_the_profile(module_site: Site) -> None:
    answer = module_site.post("sup-brown", "/policy", "/policy", data={"profile": "lab"})
    assert answer.status_code == 403
    assert module_site.service.policy.active_profile().name == "massachusetts"
    odd = module_site.post("admin", "/policy", "/policy", data={"profile": "/etc/passwd"})
    assert odd.status_code == 400 and "shipped profiles" in odd.text
