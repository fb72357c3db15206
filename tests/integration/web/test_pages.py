"""The other forms: filing errors, emergencies and their deadlines, closing with no lead,
accounts and agencies, the ledger browser."""

from __future__ import annotations

import datetime as dt
import re

from tests.integration.web.conftest import PEOPLE, Site, csrf_of

EMERGENCY = {
    "legal_basis_kind": "emergency",
    "facts": "Child abducted an hour ago; the suspect's photo came from a doorbell still.",
}


def request_id_of(answer_location: str) -> int:
    return int(answer_location.rsplit("/", 1)[1])


def test_denied_request_shows_every_reason_and_keeps_the_values(module_site: Site) -> None:
    answer = module_site.file_request(probe_source="video_frame", case_number="BPD-7")
    assert answer.status_code == 403
    html = answer.text
    assert 'data-testid="error-reasons"' in html and "video_frame" in html
    assert 'data-testid="denied-kept"' in html
    assert 'value="BPD-7"' in html  # the form comes back filled in
    mine = module_site.as_("det-jones").get("/requests?state=denied").text
    assert "BPD-7" in mine


def test_bad_photo_files_nothing(module_site: Site) -> None:
    module_site.as_("det-jones")  # logged in first: a login is a ledger entry too
    before = module_site.ledger_size()
    answer = module_site.post(
        "det-jones",
        "/requests/new",
        "/requests/new",
        data={"case_number": "BPD-8", "legal_basis_kind": "court_order", "galleries": "people"},
        files={"probe": ("probe.jpg", b"\xff\xd8\xff\xe0 truncated", "image/jpeg")},
    )
    assert answer.status_code == 422
    assert "Cannot use this input" in answer.text
    assert module_site.ledger_size() == before


def test_missing_photo_and_bad_fields_are_named(module_site: Site) -> None:
    answer = module_site.post(
        "det-jones", "/requests/new", "/requests/new", data={"case_number": "BPD-9"}
    )
    assert answer.status_code == 400 and 'data-testid="error-message"' in answer.text
    answer = module_site.file_request(issued_on="not a date")
    assert answer.status_code == 400 and "issued_on" in answer.text


def test_review_must_mark_every_candidate(site: Site) -> None:
    filed = site.file_request()
    page = filed.headers["location"]
    assert site.post("ex-smith", f"{page}/search", page).status_code == 303
    review = f"{page}/review"
    # The first review is by another examiner than the operator who ran the search (R10).
    form = site.as_("ex-patel").get(review).text
    ids = re.findall(r'name="candidate" value="(\d+)"', form)
    assert ids, form
    answer = site.post(
        "ex-patel",
        review,
        review,
        data={"candidate": ids, f"outcome-{ids[0]}": "possible_lead", f"note-{ids[0]}": "ears"},
    )
    assert answer.status_code == 400 and "Mark every candidate" in answer.text
    assert 'value="ears"' in answer.text  # what was entered comes back
    closed = site.post(
        "ex-smith", f"{page}/close", page, data={"reason": "Probe too poor to decide."}
    )
    assert closed.status_code == 303
    assert "no lead" in site.as_("det-jones").get(page).text


def test_emergency_approval_deadline_filing_and_sealing(site: Site) -> None:
    filed = site.file_request(**EMERGENCY)
    assert filed.status_code == 303, filed.text
    page = filed.headers["location"]
    request_id = request_id_of(page)
    supervise = site.as_("sup-brown").get("/supervise").text
    assert 'data-testid="awaiting-approval"' in supervise and f"/requests/{request_id}" in supervise
    # A pending emergency is not yet routed to the examiners: for them it does not exist.
    refused = site.post("ex-smith", f"{page}/approve-emergency", "/")
    assert refused.status_code == 404
    assert site.as_("ex-smith").get(page).status_code == 404
    approved = site.post("sup-brown", f"{page}/approve-emergency", "/supervise")
    assert approved.status_code == 303
    deadlines = site.as_("sup-brown").get("/supervise").text
    assert 'data-testid="deadlines"' in deadlines
    assert 'data-testid="filing-status">pending<' in deadlines
    checked = site.post("sup-brown", "/supervise/overdue", "/supervise")
    assert "No newly overdue court filings." in checked.text
    assert site.post("ex-smith", f"{page}/search", page).status_code == 303
    # A filing cannot predate the request; one made before it is refused.
    early = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    too_early = site.post(
        "det-jones", f"{page}/file-statement", page, data={"reference": "X", "filed_at": early}
    )
    assert too_early.status_code == 400 and "before request" in too_early.text
    filed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    statement = site.post(
        "det-jones",
        f"{page}/file-statement",
        page,
        data={"reference": "SUCR-EM-7", "filed_at": filed_at},
    )
    assert statement.status_code == 303
    shown = site.as_("sup-brown").get(page).text
    assert "SUCR-EM-7" in shown and 'data-testid="filing-status">on time<' in shown
    sealed = site.post("sup-brown", f"{page}/court-refusal", page, data={"note": "Refused."})
    assert sealed.status_code == 303
    after = site.as_("sup-brown").get(page).text
    assert 'data-testid="request-state">sealed<' in after
    assert 'data-testid="candidate-row"' not in after
    assert site.as_("ex-smith").get(f"/requests/{request_id}/candidates/1.jpg").status_code == 404


def test_accounts_from_creation_to_login(site: Site) -> None:
    created = site.post(
        "admin",
        "/admin/agencies",
        "/admin/agencies",
        data={"slug": "cambridge-pd", "name": "Cambridge PD", "kind": "requesting_agency"},
    )
    assert created.status_code == 303
    assert "cambridge-pd" in site.as_("admin").get("/admin/agencies").text
    weak = site.post(
        "admin",
        "/users",
        "/users",
        data={
            "username": "det-new",
            "display_name": "Det New",
            "agency": "cambridge-pd",
            "roles": ["requester"],
            "password": "short",
        },
    )
    assert weak.status_code == 400 and 'value="det-new"' in weak.text
    made = site.post(
        "admin",
        "/users",
        "/users",
        data={
            "username": "det-new",
            "display_name": "Det New",
            "agency": "cambridge-pd",
            "roles": ["requester"],
            "password": "a much longer pass phrase",
        },
    )
    assert made.status_code == 303
    client = site.anonymous()
    token = csrf_of(client.get("/login").text)
    login = {"username": "det-new", "password": "a much longer pass phrase", "csrf_token": token}
    refused = client.post("/login", data=login)
    assert refused.status_code == 401 and "approved" in refused.text
    assert site.post("sup-brown", "/users/det-new/approve", "/users").status_code == 303
    until = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    certified = site.post(
        "sup-brown", "/users/det-new/training", "/users", data={"certified_until": until}
    )
    assert certified.status_code == 303
    assert until in site.as_("sup-brown").get("/users").text
    assert client.post("/login", data=login).status_code == 303
    assert site.post("admin", "/users/det-new/disable", "/users").status_code == 303
    assert client.get("/").status_code == 303  # the session ended with the account
    assert site.post("admin", "/users/det-new/enable", "/users").status_code == 303
    again = site.post("sup-brown", "/users/det-new/approve", "/users")
    assert again.status_code == 409 and "approved already" in again.text


def test_ledger_browser_filters_and_pages(module_site: Site) -> None:
    auditor = module_site.as_("aud-green")
    first = auditor.get("/audit/ledger").text
    rows = re.findall(r'data-testid="ledger-row" data-seq="(\d+)"', first)
    assert rows[:2] == ["0", "1"] and len(rows) == 50
    assert 'data-testid="page-next"' in first
    second = auditor.get("/audit/ledger?page=2").text
    assert re.findall(r'data-seq="(\d+)"', second)[0] == "50"
    created = auditor.get("/audit/ledger?action=user.create&actor=user:admin").text
    found = re.findall(r'data-testid="ledger-row"', created)
    assert len(found) == len(PEOPLE)
    assert auditor.get("/audit/entries/999999").status_code == 404
    signed = module_site.post("aud-green", "/audit/checkpoint", "/audit/ledger")
    assert 'data-testid="ledger-notice"' in signed.text and "Signed a checkpoint" in signed.text
    refused = module_site.post("sup-brown", "/audit/checkpoint", "/audit/ledger")
    assert refused.status_code == 403


def test_api_tokens_shown_once_then_revoked(site: Site) -> None:
    assert 'data-testid="task-tokens"' in site.as_("admin").get("/").text
    # A token acts as the one who issues it: the form has no username, and one posted is
    # ignored (nobody, an admin included, issues a token acting as someone else).
    made = site.post(
        "admin", "/admin/tokens", "/admin/tokens", data={"username": "ex-smith", "name": "ci"}
    )
    token = re.search(r'data-testid="new-token"><code>([^<]+)</code>', made.text)
    assert made.status_code == 200 and token
    assert "for admin created" in made.text
    assert site.service.tokens.user_for_api_token(token.group(1)).username == "admin"
    listed = site.as_("admin").get("/admin/tokens").text
    assert token.group(1) not in listed and 'data-testid="token-row"' in listed
    (token_id,) = re.findall(r'action="/admin/tokens/(\d+)/revoke"', listed)
    revoked = site.post("admin", f"/admin/tokens/{token_id}/revoke", "/admin/tokens")
    assert revoked.status_code == 303
    assert 'data-testid="revoke-token"' not in site.as_("admin").get("/admin/tokens").text
    bad = site.post(
        "admin", "/admin/tokens", "/admin/tokens", data={"name": "x", "expires_days": "soon"}
    )
    assert bad.status_code == 400 and "expires_days" in bad.text
    gone = site.post("admin", "/admin/tokens/999999/revoke", "/admin/tokens")
    assert gone.status_code == 404 and "999999" in gone.text
