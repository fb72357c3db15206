"""Misuse analytics through the real service (R18): the governed unit's requests, an
Evansville-style history filed through the service (an officer's personal searches of
unrelated people behind a real case number, at night, with one boilerplate narrative), a
clean history of the same size, stored findings with ledger entries and alerts, and refusals.

The service stamps a request with the time it is filed; to put requests at odd or office
hours, the tests move ``created_at`` afterwards through the ORM (set-up only)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceledger.alerts.models import AlertRow
from faceledger.errors import InvalidInput, PermissionDenied
from faceledger.governance.accounts import LocalOperator
from faceledger.governance.models import RequestRow, ViolationRow
from faceledger.reports.models import MisuseFindingRow
from faceledger.service.ledger_actions import LedgerAction
from tests.integration.governance.conftest import Governed, form

ZONE = zoneinfo.ZoneInfo("America/New_York")  # the massachusetts profile's misuse.timezone
BOILERPLATE = (
    "Suspect in an ongoing investigation; photo received from a confidential source on {d}/05. "
    "Identity needed to locate the subject for follow-up interview."
)
REAL_CASE = "BPD-2024-0117"


def local(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    """An aware UTC time ``days_ago`` days before today, at ``hour:minute`` New York time."""
    today = dt.datetime.now(ZONE).date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(today, dt.time(hour, minute), tzinfo=ZONE).astimezone(dt.UTC)


def set_filed(g: Governed, times: dict[int, dt.datetime]) -> None:
    """Set-up: move requests' filing times (the service stamps the present)."""
    with g.service.context.db.transaction() as session:
        for rid, when in times.items():
            row = session.get(RequestRow, rid)
            assert row is not None
            row.created_at = when


def age_the_template(g: Governed) -> None:
    """Set-up: the template's own requests were filed well before the scan window."""
    with g.service.context.db.read() as session:
        ids = list(session.scalars(select(RequestRow.id)))
    set_filed(g, {rid: local(400 + i, 10) for i, rid in enumerate(ids)})


def probes(faces: Path) -> list[bytes]:
    """One photo of each person but obama (the template's probe): twelve distinct probes."""
    people = sorted(p for p in (faces / "people").iterdir() if p.name != "obama")
    return [sorted(p.iterdir())[0].read_bytes() for p in people]


def file(g: Governed, who: str, case: str, narrative: str, probe: bytes, search: bool) -> int:
    """File a request as persona ``who``; run its search (as ex1) if ``search``."""
    view = g.service.requests.submit_request(
        g.who(who), form(case_number=case, narrative=narrative), probe, "probe.jpg"
    )
    if search:
        g.service.requests.run_request_search(g.who("ex1"), view.id)
    return view.id


def count(g: Governed, table: type, **where: object) -> int:
    with g.service.context.db.read() as session:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return session.scalar(query) or 0


def rules(found: Iterable[object]) -> set[str]:
    return {f.rule for f in found}  # type: ignore[attr-defined]


@pytest.fixture
def evansville(governed: Governed) -> dict[str, list[int]]:
    """det-a (Boston) files a real case by day, then personal searches of seven unrelated
    people behind it and two other real case numbers, at night, with one boilerplate."""
    g = governed
    age_the_template(g)
    photos = probes(g.probe.parents[2])
    real = file(
        g,
        "req_a",
        REAL_CASE,
        "Armed robbery of a pharmacy on Tremont Street; the clerk photographed the robber.",
        photos[0],
        search=True,
    )
    plan = [
        (REAL_CASE, 26, 23),
        (REAL_CASE, 22, 0),
        (REAL_CASE, 19, 1),
        ("BPD-2024-0342", 15, 23),
        (REAL_CASE, 11, 2),
        ("BPD-2024-0409", 8, 0),
        (REAL_CASE, 4, 1),
    ]
    personal, times = [], {real: local(30, 10)}
    for i, (case, days, hour) in enumerate(plan):
        rid = file(g, "req_a", case, BOILERPLATE.format(d=i + 3), photos[i + 1], search=True)
        personal.append(rid)
        times[rid] = local(days, hour, 30)
    set_filed(g, times)
    return {"real": [real], "personal": personal}


def test_the_evansville_history_is_flagged(
    governed: Governed, evansville: dict[str, list[int]]
) -> None:
    g = governed
    before = g.counts()
    result = g.service.misuse.scan(g.who("aud"))
    assert result.records == 8 and result.profile == "massachusetts"
    by_rule = {f.rule: f for f in result.new}
    assert set(by_rule) == {"searches_per_case", "odd_hour_searches", "narrative_cases"}
    real, personal = evansville["real"][0], evansville["personal"]
    case_ids = sorted([real, personal[0], personal[1], personal[2], personal[4], personal[6]])
    assert list(by_rule["searches_per_case"].request_ids) == case_ids
    assert f"under case number {REAL_CASE} of boston-pd" in by_rule["searches_per_case"].explanation
    assert list(by_rule["odd_hour_searches"].request_ids) == sorted(personal)
    assert list(by_rule["narrative_cases"].request_ids) == sorted(personal)
    assert by_rule["narrative_cases"].details["count"] == 3

    # Each finding: one row, one ledger entry, one alert, in the scan's transaction.
    after = g.counts()
    assert after["misuse_findings"] == before["misuse_findings"] + 3
    assert after["alerts"] == before["alerts"] + 3
    assert after["ledger"] == before["ledger"] + 3
    entries = g.entries_of(LedgerAction.MISUSE_FINDING)
    assert [e.object_id for e in entries] == [str(f.id) for f in result.new]
    for entry, finding in zip(entries, result.new, strict=True):
        assert entry.object_type == "misuse_finding" and entry.actor == g.who("aud").ledger_actor
        assert entry.seq == finding.ledger_seq
        assert entry.payload["rule"] == finding.rule
        assert entry.payload["request_ids"] == list(finding.request_ids)
        assert "confidential source" not in str(entry.payload)  # no narrative in the ledger
        assert "Tremont" not in str(entry.payload)
        assert count(g, AlertRow, finding_id=finding.id, source="misuse") == 1


def test_scanning_twice_stores_no_duplicate_and_raises_no_second_alert(
    governed: Governed, evansville: dict[str, list[int]]
) -> None:
    g = governed
    first = g.service.misuse.scan(g.who("sup"))
    assert len(first.new) == 3
    before = g.counts()
    again = g.service.misuse.scan(g.who("aud"))
    assert again.new == () and again.found == 3 and again.total == 3
    assert g.counts() == before


def test_a_grown_pattern_is_new_but_a_shrunk_one_is_not(
    governed: Governed, evansville: dict[str, list[int]]
) -> None:
    g = governed
    g.service.misuse.scan(g.who("aud"))
    # One request of the stored pattern leaves the window: the rest is the same pattern.
    set_filed(g, {evansville["real"][0]: local(400, 10)})
    shrunk = g.service.misuse.scan(g.who("aud"))
    assert shrunk.new == () and shrunk.found == 3
    # The officer goes on: another night search behind the real case is new evidence.
    rid = file(
        g, "req_a", REAL_CASE, BOILERPLATE.format(d=28), probes(g.probe.parents[2])[9], False
    )
    set_filed(g, {rid: local(1, 3)})
    grown = g.service.misuse.scan(g.who("aud"))
    assert rules(grown.new) == {"searches_per_case", "odd_hour_searches", "narrative_cases"}
    assert all(rid in f.request_ids for f in grown.new)
    assert count(g, AlertRow, source="misuse") == 6


def test_a_clean_history_of_the_same_size_gives_no_finding(governed: Governed) -> None:
    g = governed
    age_the_template(g)
    photos = probes(g.probe.parents[2])
    narratives = [
        "Armed robbery of a pharmacy on Tremont Street; the clerk photographed the robber.",
        "Carjacking at a petrol station in Dorchester; a customer filmed the driver leaving.",
        "Assault with a knife outside a bar in Allston; door staff kept a still from CCTV.",
        "Home invasion in Roxbury: the victim's doorbell camera recorded both intruders.",
        "Bank robbery downtown; the teller's camera caught the man passing a demand note.",
        "Aggravated assault on a bus driver; the transit authority supplied an onboard frame.",
        "Robbery of a delivery rider in Cambridge; a shop's camera saw the attacker flee.",
        "Arson at a warehouse near the river; a security guard photographed a man nearby.",
    ]
    plan = [
        ("req_a", 28),
        ("req_a2", 25),
        ("req_b", 21),
        ("req_a", 17),
        ("req_a2", 13),
        ("req_b", 9),
        ("req_a", 6),
        ("req_a2", 2),
    ]
    times = {}
    for i, (who, days) in enumerate(plan):
        rid = file(g, who, f"CASE-{i + 100}", narratives[i], photos[i], search=True)
        times[rid] = local(days, 9 + i, 15)
    set_filed(g, times)
    before = g.counts()
    result = g.service.misuse.scan(g.who("aud"))
    assert result.records == 8
    assert result.found == 0 and result.new == () and result.total == 0
    assert g.counts() == before


def test_the_governed_units_own_history(governed: Governed) -> None:
    """The template: det-a filed eight cases within minutes, each with the same probe photo
    and the same narrative; three were reviewed with every candidate a possible lead."""
    g = governed
    with g.service.context.db.read() as session:
        ids = list(session.scalars(select(RequestRow.id).order_by(RequestRow.id)))
    set_filed(g, {rid: local(1, 10, i) for i, rid in enumerate(ids)})
    result = g.service.misuse.scan(g.who("sup"))
    assert rules(result.new) == {
        "cases_per_requester",
        "probe_cases",
        "subject_cases",
        "narrative_cases",
    }
    reviewed = {g.requests[k] for k in ("reviewed", "peer_reviewed", "released")}
    subjects = [f for f in result.new if f.rule == "subject_cases"]
    # The probe's own subject is within threshold wherever it was searched; the other
    # candidates count only where a reviewer marked them possible leads.
    assert any(set(f.request_ids) == reviewed for f in subjects)
    assert all(set(f.request_ids) <= reviewed | {g.requests["searched"]} for f in subjects)
    [probe] = [f for f in result.new if f.rule == "probe_cases"]
    assert set(probe.request_ids) == set(ids) and probe.details["by_embedding"] is False


def test_findings_are_listed_and_filtered(
    governed: Governed, evansville: dict[str, list[int]]
) -> None:
    g = governed
    g.service.misuse.scan(g.who("aud"))
    found, total = g.service.misuse.findings(g.who("sup"))
    assert total == 3 and [f.id for f in found] == sorted((f.id for f in found), reverse=True)
    only, total = g.service.misuse.findings(g.who("aud"), "odd_hour_searches")
    assert total == 1 and only[0].rule == "odd_hour_searches"
    assert only[0].to_dict()["request_ids"] == sorted(evansville["personal"])
    page, total = g.service.misuse.findings(g.who("aud"), limit=1, offset=1)
    assert total == 3 and page == [found[1]]
    with pytest.raises(InvalidInput, match="no misuse rule 'bogus'"):
        g.service.misuse.findings(g.who("aud"), "bogus")
    with pytest.raises(InvalidInput):
        g.service.misuse.findings(g.who("aud"), limit=0)


def test_the_local_operator_may_scan_for_the_scheduled_job(
    governed: Governed, evansville: dict[str, list[int]]
) -> None:
    g = governed
    operator = LocalOperator("cron")
    result = g.service.misuse.scan(operator)
    assert len(result.new) == 3
    assert {e.actor for e in g.entries_of(LedgerAction.MISUSE_FINDING)} == {operator.ledger_actor}


@pytest.mark.parametrize("who", ["req_a", "ex1", "rev"])
def test_others_are_refused_and_the_refusal_recorded(governed: Governed, who: str) -> None:
    g = governed
    for attempt in (
        lambda: g.service.misuse.scan(g.who(who)),
        lambda: g.service.misuse.findings(g.who(who)),
    ):
        violations = count(g, ViolationRow)
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        assert refused.value.status == 403
        assert "report.misuse" in refused.value.message
        assert count(g, ViolationRow) == violations + 1
        [entry] = g.last_entries(1)
        assert entry.action == LedgerAction.ACCESS_DENIED
        assert entry.payload["action"] == "report.misuse"
    assert count(g, MisuseFindingRow) == 0
