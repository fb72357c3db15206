"""The Evansville pattern (officers ran personal searches behind real case numbers) is flagged;
a clean history of the same size gives no finding at all."""

from __future__ import annotations

from faceledger.ledger.canonical import canonical_json
from faceledger.reports.misuse import MisuseRule, scan
from tests.unit.reports.misuse.history import (
    BOILERPLATE,
    NOW,
    OFFICER,
    POLICY,
    REAL_CASE,
    clean_history,
    evansville_history,
)


def test_the_evansville_history_is_flagged() -> None:
    history = evansville_history()
    findings = {f.rule: f for f in scan(history, POLICY, NOW)}
    assert set(findings) == {
        MisuseRule.SEARCHES_PER_CASE,
        MisuseRule.ODD_HOUR_SEARCHES,
        MisuseRule.NARRATIVE_CASES,
    }
    officer = [r for r in history if r.requester == OFFICER]
    behind_case = findings[MisuseRule.SEARCHES_PER_CASE]
    assert behind_case.request_ids == tuple(
        r.request_id for r in officer if r.case_number == REAL_CASE
    )
    assert f"6 search requests filed under case number {REAL_CASE}" in behind_case.explanation
    assert "4 or more" in behind_case.explanation
    assert behind_case.details["requesters"] == [OFFICER]

    night = findings[MisuseRule.ODD_HOUR_SEARCHES]
    assert night.request_ids == tuple(r.request_id for r in officer[1:])  # not the real one
    assert "7 requests at odd hours (23:00-05:00 America/New_York)" in night.explanation
    assert night.details["threshold"] == 3

    pasted = findings[MisuseRule.NARRATIVE_CASES]
    assert pasted.request_ids == tuple(r.request_id for r in officer[1:])
    assert pasted.details["cases"] == [
        f"{REAL_CASE} (evansville-pd)",
        "EPD-24-0342 (evansville-pd)",
        "EPD-24-0409 (evansville-pd)",
    ]
    assert "3 different case numbers" in pasted.explanation


def test_a_clean_history_of_the_same_size_gives_no_finding() -> None:
    clean = clean_history()
    assert len(clean) == len(evansville_history())
    assert scan(clean, POLICY, NOW) == []


def test_findings_carry_no_narrative_text_and_only_canonical_json() -> None:
    for finding in scan(evansville_history(), POLICY, NOW):
        canonical_json(finding.to_dict())  # no floats: the ledger can hold it
        assert "confidential source" not in finding.explanation
        assert "confidential source" not in str(finding.details)
        assert "Riverside" not in finding.explanation
    assert "confidential source" in BOILERPLATE
