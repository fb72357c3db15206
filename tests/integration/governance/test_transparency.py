"""The transparency report (R17) over a hand-built history in the governed unit: the counts
match the history, the count from the public ledger export agrees, small cells are hidden, and
producing a report obeys the access model and is recorded."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

from faceledger.errors import InvalidInput, PermissionDenied
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.context import DescribedRace, DescribedSex
from faceledger.governance.models import RequestRow
from faceledger.ledger import load_public_key
from faceledger.reports.transparency import build_report
from faceledger.reports.transparency.from_export import read_export
from faceledger.service.ledger_actions import LedgerAction
from tests.integration.governance.conftest import BOSTON, CAMBRIDGE, Governed, form

TODAY = dt.datetime.now(dt.UTC).date()
START, END = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)


def build_history(g: Governed) -> dict[str, Any]:
    """On top of the template (eight Boston requests, one per stage): a no-lead closure, two
    lead uses, an on-time emergency filing, one Cambridge request with a description of the
    person sought, and three refused attempts; returns what the history holds."""
    s, r = g.service, g.requests
    s.reviews.close_no_lead(g.who("ex1"), r["reviewed"], "No candidate resembles the probe.")
    released = s.requests.get_request(g.who("req_a"), r["released"])
    lead = released.candidates[0]["id"]
    s.reviews.record_lead_use(g.who("req_a"), r["released"], lead, "further_investigation")
    s.reviews.record_lead_use(g.who("req_a"), r["released"], lead, "arrest", "Witness W-7")
    s.emergencies.file_emergency_statement(g.who("req_a"), r["emergency_approved"], "SUCR-E-1")
    probe = g.probe.read_bytes()
    described = form(
        case_number="CPD-1",
        described_sex=DescribedSex.FEMALE,
        described_race=DescribedRace.ASIAN,
    )
    s.requests.submit_request(g.who("req_b"), described, probe, "probe.jpg")
    with pytest.raises(PermissionDenied):  # a requester may not search: Boston's request
        s.requests.run_request_search(g.who("req_a"), r["approved"])
    with pytest.raises(PermissionDenied):  # nor list violations: Cambridge's account
        s.violations.list_violations(g.who("req_b"))
    with pytest.raises(PermissionDenied):  # nor may the local operator: no agency
        s.violations.list_violations(LocalOperator("test"))
    searched = ("searched", "reviewed", "peer_reviewed", "released")
    auditor = g.who("aud")
    with s.context.db.read() as session:
        decision = session.get(RequestRow, r["denied"]).decision  # type: ignore[union-attr]
    return {
        "candidates": sum(len(s.requests.get_request(auditor, r[k]).candidates) for k in searched),
        "denied_rules": sorted({f["rule_id"] for f in decision["failures"]}),
    }


@pytest.fixture
def history(governed: Governed) -> dict[str, Any]:
    return build_history(governed)


def test_the_counts_match_the_hand_built_history(
    governed: Governed, history: dict[str, Any]
) -> None:
    report = governed.service.transparency.report(governed.who("aud"), START, END, public=False)
    data = report.to_dict()
    assert data["source"] == "records" and data["public"] is False
    assert set(data["agencies"]) == {BOSTON, CAMBRIDGE, "unattributed"}
    boston, cambridge = data["agencies"][BOSTON], data["agencies"][CAMBRIDGE]
    assert boston["requests"] == 8 and cambridge["requests"] == 1
    assert boston["searches"] == 4 and cambridge["searches"] == 0
    assert boston["candidates"] == history["candidates"] > 0
    assert boston["legal_basis"]["court_order"] == 6
    assert boston["legal_basis"]["emergency"] == 2
    assert boston["outcomes"] == {
        "pending": 5,  # approved, searched, peer reviewed, two emergencies
        "denied": 1,
        "no_lead": 1,
        "lead": 0,
        "further_investigation": 0,
        "photo_lineup_corroborated": 0,
        "photo_lineup_uncorroborated": 0,
        "warrant_corroborated": 0,
        "warrant_uncorroborated": 0,
        "arrest_corroborated": 1,
        "arrest_uncorroborated": 0,
    }
    assert boston["emergency_filings"] == {"on_time": 1, "late": 0, "overdue": 0, "pending": 1}
    assert history["denied_rules"]
    assert {k: v for k, v in boston["denials"].items() if v} == dict.fromkeys(
        history["denied_rules"], 1
    )
    assert cambridge["described_sex"]["female"] == 1
    assert cambridge["described_race"]["asian"] == 1
    assert boston["described_sex"]["not_given"] == 8
    assert (boston["violations"], cambridge["violations"]) == (1, 1)
    assert data["agencies"]["unattributed"]["violations"] == 1
    assert boston["violation_kinds"]["denied_action"] == 1
    totals = data["totals"]
    assert (totals["requests"], totals["searches"], totals["violations"]) == (9, 4, 3)
    assert totals["candidates"] == history["candidates"]


def test_the_public_export_gives_the_same_report(
    governed: Governed, history: dict[str, Any]
) -> None:
    service, auditor = governed.service, governed.who("aud")
    out = io.StringIO()
    service.audit.export_ledger(auditor, out, include_payloads=False)
    export = out.getvalue()
    assert '"payload":' not in export  # the public export: no payloads at all
    facts = read_export(export.splitlines(keepends=True), load_public_key(service.public_key_path))
    assert facts.verified is not None
    for public in (True, False):
        from_records = service.transparency.report(auditor, START, END, public=public)
        from_export = build_report(
            facts.requests,
            facts.violations,
            from_records.period,
            public=public,
            small_cell_min=from_records.small_cell_min,
            profile=from_records.profile,
            source="export",
            generated_at=from_records.generated_at,
        )
        records, exported = from_records.to_dict(), from_export.to_dict()
        assert exported["totals"] == records["totals"]
        assert exported["agencies"] == records["agencies"]
        assert exported["totals"]["searches"] == 4


def test_small_cells_are_suppressed_and_totals_stay_exact(
    governed: Governed, history: dict[str, Any]
) -> None:
    report = governed.service.transparency.report(governed.who("sup"), START, END, public=True)
    data = report.to_dict()
    cambridge = data["agencies"][CAMBRIDGE]
    assert cambridge["requests"] == {"suppressed": True, "reason": "small_cell"}
    assert cambridge["described_sex"]["female"]["suppressed"] is True
    assert cambridge["searches"] == 0  # zero is shown
    assert "violation_kinds" not in data["agencies"][BOSTON]
    assert data["totals"]["requests"] == 9 and data["totals"]["searches"] == 4
    assert data["small_cell_min"] == report.small_cell_min == 5
    assert data["profile"] == "massachusetts"
    # Nothing names a case, a person or a narrative.
    text = str(data)
    for secret in ("GOV-", "CPD-1", "det-a", "Witness", "robbery"):
        assert secret not in text


def test_producing_a_report_is_recorded(governed: Governed) -> None:
    before = len(governed.entries_of(LedgerAction.REPORT_TRANSPARENCY))
    governed.service.transparency.report(governed.who("aud"), START, END, public=True)
    entries = governed.entries_of(LedgerAction.REPORT_TRANSPARENCY)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry.actor == "user:aud-one"
    assert entry.payload["period"] == {"from": START.isoformat(), "to": END.isoformat()}
    assert entry.payload["public"] is True
    assert entry.payload["totals"]["requests"] == 8
    assert entry.payload["totals"]["searches"] == 4


def test_a_requester_may_not_produce_one_and_is_recorded(governed: Governed) -> None:
    before = governed.counts()
    with pytest.raises(PermissionDenied, match=r"report\.transparency"):
        governed.service.transparency.report(governed.who("req_a"), START, END, public=True)
    after = governed.counts()
    assert after["violations"] == before["violations"] + 1
    assert governed.last_entries(1)[0].action != LedgerAction.REPORT_TRANSPARENCY


def test_a_period_that_ends_before_it_starts_writes_nothing(governed: Governed) -> None:
    before = governed.counts()
    with pytest.raises(InvalidInput, match="after it ends"):
        governed.service.transparency.report(governed.who("aud"), END, START, public=True)
    assert governed.counts() == before


def test_the_local_operator_may_produce_one(governed: Governed) -> None:
    report = governed.service.transparency.report(LocalOperator("test"), START, END, public=False)
    assert report.totals()["requests"] == 8


def test_a_past_period_counts_nothing(governed: Governed) -> None:
    old = TODAY - dt.timedelta(days=400)
    report = governed.service.transparency.report(governed.who("aud"), old, old, public=True)
    assert report.agencies == () and report.totals()["searches"] == 0


def test_a_sealed_request_keeps_its_search_and_candidate_count(governed: Governed) -> None:
    # Sealing deletes the candidate list (R4); the search and its length stay countable.
    s, rid = governed.service, governed.requests["emergency_submitted"]
    s.requests.approve_emergency(governed.who("sup"), rid)
    listed = len(s.requests.run_request_search(governed.who("ex1"), rid).candidates)
    assert listed > 0
    s.emergencies.record_court_refusal(governed.who("sup"), rid, "Order refused.")
    auditor = governed.who("aud")
    report = s.transparency.report(auditor, START, END, public=False)
    boston = report.to_dict()["agencies"][BOSTON]
    assert boston["searches"] == 5
    assert boston["outcomes"]["no_lead"] == 1  # sealed: no lead, whatever was found
    out = io.StringIO()
    s.audit.export_ledger(auditor, out, include_payloads=False)
    facts = read_export(out.getvalue().splitlines(), load_public_key(s.public_key_path))
    # The public export names the request by its pseudonym (ledger envelope version 3).
    [filed] = [e for e in governed.entries_of("request.submit") if e.object_id == str(rid)]
    sealed = next(f for f in facts.requests if f.request_id == filed.object_ref)
    assert sealed.candidates == listed
    exported = build_report(
        facts.requests,
        facts.violations,
        report.period,
        public=False,
        small_cell_min=5,
        profile=report.profile,
        source="export",
        generated_at=report.generated_at,
    )
    assert exported.to_dict()["agencies"] == report.to_dict()["agencies"]
