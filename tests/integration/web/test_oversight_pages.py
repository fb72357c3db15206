"""The oversight pages (R14, R17, R18) in the web app: the alert inbox and its count on every
page, acknowledging with a note, the dashboard, misuse findings, the transparency report with
its downloads, and the disclosure packet on a request's page. Plain HTTP through the web app
over a real data directory."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlencode

import pytest

from faceledger.ledger import load_public_key
from faceledger.reports.disclosure.check import check_packet
from faceledger.service.disclosures import ACTION_NAMES
from tests.integration.api.conftest import stored_counts
from tests.integration.web.conftest import SUPERVISOR, Site, csrf_of

INBOX = re.compile(r'data-testid="inbox-count"[^>]*>(\d+)<')


def _inbox(site: Site, user: str) -> int | None:
    found = INBOX.search(site.as_(user).get("/").text)
    return int(found.group(1)) if found else None


def test_a_violation_shows_in_the_inbox_and_is_acknowledged_with_a_note(site: Site) -> None:
    before = _inbox(site, "aud-green")
    assert before is not None
    assert _inbox(site, "det-jones") is None  # requesters have no inbox
    # A requester opening the violations list is refused and recorded: a violation, an alert.
    assert site.as_("det-jones").get("/violations").status_code == 403
    assert _inbox(site, "aud-green") == before + 1
    [alert], _ = site.service.alerts.list_alerts(site.user("aud-green"), open_only=True, limit=1)
    page = site.as_("aud-green").get("/alerts")
    assert f'data-testid="alert-{alert.id}"' in page.text and "denied action" in page.text.lower()

    refused = site.post(SUPERVISOR, f"/alerts/{alert.id}/ack", "/alerts", data={"note": " "})
    assert refused.status_code == 400 and 'data-testid="error"' in refused.text
    done = site.post(
        SUPERVISOR, f"/alerts/{alert.id}/ack", "/alerts", data={"note": "Spoke to the officer."}
    )
    assert (
        done.status_code == 303 and done.headers["location"] == f"/alerts?acknowledged={alert.id}"
    )
    assert _inbox(site, "aud-green") == before
    shown = site.as_("aud-green").get(f"/alerts?show=all&acknowledged={alert.id}").text
    assert 'data-testid="ack-done"' in shown and "Spoke to the officer." in shown
    [entry] = site.service.audit.ledger_entries(site.user("aud-green"), action="alert.ack")
    assert entry.payload is not None and entry.payload["note"] == "Spoke to the officer."


def test_dashboard_counts_requests_and_is_for_oversight_only(site: Site) -> None:
    site.released_request()
    page = site.as_("aud-green").get("/dashboard")
    assert page.status_code == 200
    requests = re.search(r'data-testid="dashboard-requests">(\d+)<', page.text)
    assert requests and int(requests.group(1)) >= 1
    assert "released" in page.text and page.text.count("data:image/png;base64,") == 3
    assert site.as_("det-jones").get("/dashboard").status_code == 403
    assert site.as_("ex-smith").get("/dashboard").status_code == 403


def test_misuse_scan_from_the_page(site: Site) -> None:
    answer = site.post("aud-green", "/misuse/scan", "/misuse")
    assert answer.status_code == 200 and 'data-testid="scan-result"' in answer.text
    assert site.as_("ex-smith").get("/misuse").status_code == 403


def _reports(site: Site) -> list[str]:
    """The object ids of the report.transparency entries, oldest first."""
    entries = site.service.audit.ledger_entries(site.user("aud-green"), action=REPORTED)
    return [entry.object_id for entry in entries]


REPORTED = "report.transparency"
PAGE = "/reports/transparency"


def test_transparency_page_totals_and_downloads(site: Site) -> None:
    site.released_request()
    today = dt.date.today().isoformat()
    period = {"from": today, "to": today, "version": "public"}
    recorded = f"transparency:{today}:{today}"
    before = _reports(site)
    page = site.post("aud-green", PAGE, PAGE, data=period)
    assert page.status_code == 200
    searches = re.search(r'data-testid="total-searches">(\d+)<', page.text)
    assert searches and int(searches.group(1)) >= 1
    # The downloads are posts of the same form, with the session's CSRF token.
    assert 'data-testid="downloads"' in page.text
    assert 'formaction="/reports/transparency/report.csv"' in page.text
    assert f'name="csrf_token" value="{csrf_of(page.text)}"' in page.text
    assert _reports(site) == [*before, recorded]
    report = site.post("aud-green", f"{PAGE}/report.json", PAGE, data=period)
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    assert json.loads(report.text)["totals"]["searches"] == int(searches.group(1))
    csv = site.post("aud-green", f"{PAGE}/report.csv", PAGE, data=period)
    assert csv.headers["content-type"].startswith("text/csv") and "agency" in csv.text
    html = site.post("aud-green", f"{PAGE}/report.html", PAGE, data=period)
    assert html.headers["content-type"].startswith("text/html")
    assert "attachment" in html.headers["content-disposition"]
    # Each download is a report of its own, recorded.
    assert _reports(site) == [*before, *[recorded] * 4]


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (PAGE, {"from": "2026-13-01", "to": "x"}, "Give the period as two dates"),
        (PAGE, {"from": "1999-01-01", "to": "2000-01-01"}, "between 2000 and 2100"),
        (PAGE, {"from": "2026-01-01", "to": "2026-01-02", "version": "all"}, "public or the"),
        (f"{PAGE}/report.pdf", {"from": "2026-01-01", "to": "2026-01-02"}, "not report.pdf"),
        (f"{PAGE}/report.csv", {"from": "2026-01-02", "to": "2026-01-01"}, "2026-01-02"),
    ],
)
def test_a_bad_report_form_is_refused_and_records_nothing(
    site: Site, path: str, data: dict[str, str], message: str
) -> None:
    site.as_("aud-green")  # logging in is recorded: done before counting
    before = stored_counts(site.service)
    bad = site.post("aud-green", path, PAGE, data={"version": "public", **data})
    assert bad.status_code == 400 and 'data-testid="error"' in bad.text
    assert message in bad.text
    assert 'data-testid="transparency-form"' in bad.text  # the form again, to correct
    assert stored_counts(site.service) == before


def test_a_requester_is_refused_the_report_page_and_its_post(site: Site) -> None:
    assert site.as_("det-jones").get(PAGE).status_code == 403
    client = site.as_("det-jones")
    token = csrf_of(client.get("/requests").text)
    before = len(_reports(site))
    for path in (PAGE, f"{PAGE}/report.json"):
        refused = client.post(path, data={"csrf_token": token, "from": "x", "to": "y"})
        # Refused before the period is read, and recorded as a violation (not a report).
        assert refused.status_code == 403 and "report.transparency" in refused.text
    assert len(_reports(site)) == before
    denied = site.service.audit.ledger_entries(site.user("aud-green"), action="access.denied")
    assert [e.payload and e.payload.get("action") for e in denied[-2:]] == [REPORTED] * 2


def test_the_report_page_get_writes_nothing_and_the_post_records_once(site: Site) -> None:
    """Issue 13 item 5: a GET never changes state, even one naming a period (as the old
    links did); the form's post produces the report and records exactly one entry."""
    period = {"from": "2026-01-01", "to": "2026-01-31", "version": "internal"}
    query = urlencode(period)
    site.as_("aud-green")  # logging in is recorded: done before counting
    before = stored_counts(site.service)
    for path in (f"{PAGE}?{query}", f"{PAGE}/report.json?{query}", f"{PAGE}/report.csv"):
        answer = site.as_("aud-green").get(path)
        assert answer.status_code in (200, 405), (path, answer.status_code)
    shown = site.as_("aud-green").get(f"{PAGE}?{query}")
    assert 'value="2026-01-31"' in shown.text  # the form is filled in, nothing produced
    assert 'data-testid="transparency-totals"' not in shown.text
    refused = site.as_("aud-green").get(f"{PAGE}/report.json?{query}")
    assert refused.status_code == 405 and "does not accept that kind of request" in refused.text
    assert refused.headers["allow"] == "POST"
    assert stored_counts(site.service) == before
    size = site.ledger_size()
    made = site.post("aud-green", PAGE, f"{PAGE}?{query}", data=period)
    assert made.status_code == 200 and 'data-testid="transparency-totals"' in made.text
    assert site.ledger_size() == size + 1
    # (site.user logs in, which is recorded after the report: hence the first entry.)
    entry = site.service.audit.ledger_entries(site.user("aud-green"), offset=size)[0]
    assert entry.action == REPORTED and entry.object_id == "transparency:2026-01-01:2026-01-31"
    assert entry.payload is not None and entry.payload["public"] is False


def test_disclosure_packet_from_the_request_page_checks_offline(site: Site) -> None:
    rid, _, _ = site.released_request()
    assert 'data-testid="disclosure-form"' not in site.as_("ex-smith").get(f"/requests/{rid}").text
    assert 'data-testid="disclosure-form"' in site.as_("aud-green").get(f"/requests/{rid}").text
    page = f"/requests/{rid}"
    missing = site.post("aud-green", f"/requests/{rid}/disclosure", page, data={"format": "json"})
    assert missing.status_code == 400  # for whom is required; nothing was produced
    answer = site.post(
        "aud-green",
        f"/requests/{rid}/disclosure",
        page,
        data={"recipient": "Defence counsel, docket 26-1", "format": "json"},
    )
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    report = check_packet(
        answer.content, load_public_key(site.service.public_key_path), ACTION_NAMES
    )
    assert report is not None
    shown = site.as_("aud-green").get(page).text
    assert 'data-testid="disclosures"' in shown and "Defence counsel, docket 26-1" in shown
    assert 'data-testid="disclosure-status">disclosed<' in shown
