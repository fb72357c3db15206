"""The oversight pages (R14, R17, R18) in the web app: the alert inbox and its count on every
page, acknowledging with a note, the dashboard, misuse findings, the transparency report with
its downloads, and the disclosure packet on a request's page. Plain HTTP through the web app
over a real data directory."""

from __future__ import annotations

import datetime as dt
import json
import re

from faceledger.ledger import load_public_key
from faceledger.reports.disclosure.check import check_packet
from faceledger.service.disclosures import ACTION_NAMES
from tests.integration.web.conftest import SUPERVISOR, Site

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


def test_transparency_page_totals_and_downloads(site: Site) -> None:
    site.released_request()
    today = dt.date.today().isoformat()
    query = f"from={today}&to={today}&version=public"
    page = site.as_("aud-green").get(f"/reports/transparency?{query}")
    assert page.status_code == 200
    searches = re.search(r'data-testid="total-searches">(\d+)<', page.text)
    assert searches and int(searches.group(1)) >= 1
    report = site.as_("aud-green").get(f"/reports/transparency/report.json?{query}")
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    assert json.loads(report.text)["totals"]["searches"] == int(searches.group(1))
    csv = site.as_("aud-green").get(f"/reports/transparency/report.csv?{query}")
    assert csv.headers["content-type"].startswith("text/csv") and "agency" in csv.text
    bad = site.as_("aud-green").get("/reports/transparency?from=2026-13-01&to=x")
    assert bad.status_code == 400 and 'data-testid="error"' in bad.text
    assert site.as_("det-jones").get(f"/reports/transparency?{query}").status_code == 403


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
