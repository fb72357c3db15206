"""Each misuse rule at exactly its threshold (a finding) and one below (none)."""

from __future__ import annotations

import dataclasses

import pytest

from faceledger.reports.misuse import CaseRecord, MisuseRule, scan
from faceledger.reports.misuse.activity import is_odd_hour
from faceledger.reports.misuse.narratives import jaccard, normalise, shingles
from tests.unit.reports.misuse.history import (
    BOILERPLATE,
    NOW,
    POLICY,
    at,
    near,
    record,
    sha,
    unit_vector,
)


def rules_of(records: list[CaseRecord], **changes: object) -> list[MisuseRule]:
    policy = dataclasses.replace(POLICY, **changes)  # type: ignore[arg-type]
    return [f.rule for f in scan(records, policy, NOW)]


# -- searches_per_case ---------------------------------------------------------------------


@pytest.mark.parametrize(("n", "flagged"), [(5, True), (4, False)])
def test_searches_per_case(n: int, flagged: bool) -> None:
    records = [record(case="BPD-9", filed_at=at(i, 10)) for i in range(n)]
    found = scan(records, dataclasses.replace(POLICY, searches_per_case=5), NOW)
    assert [f.rule for f in found] == ([MisuseRule.SEARCHES_PER_CASE] if flagged else [])
    if flagged:
        assert found[0].details["count"] == 5
        assert "5 search requests filed under case number BPD-9 of boston-pd" in (
            found[0].explanation
        )
        assert "The profile flags 5 or more" in found[0].explanation


def test_the_same_case_number_at_two_agencies_is_two_cases() -> None:
    records = [
        record(case="2024-1", agency=a, filed_at=at(i, 10))
        for i in range(2)
        for a in ("boston-pd", "cambridge-pd")
    ]
    assert rules_of(records, searches_per_case=3) == []


def test_requests_outside_the_window_are_not_counted() -> None:
    records = [record(case="BPD-9", filed_at=at(i, 10)) for i in range(3)]
    records.append(record(case="BPD-9", filed_at=at(POLICY.window_days + 2, 10)))
    assert rules_of(records, searches_per_case=4) == []
    assert rules_of(records, searches_per_case=4, window_days=POLICY.window_days + 5) == [
        MisuseRule.SEARCHES_PER_CASE
    ]


# -- cases_per_requester -------------------------------------------------------------------


@pytest.mark.parametrize(("n", "flagged"), [(6, True), (5, False)])
def test_cases_per_requester(n: int, flagged: bool) -> None:
    # All within six days (the window is seven).
    records = [record(case=f"BPD-{i}", filed_at=at(6 * i / max(n - 1, 1), 10)) for i in range(n)]
    assert rules_of(records) == ([MisuseRule.CASES_PER_REQUESTER] if flagged else [])


def test_cases_per_requester_needs_them_within_one_sliding_window() -> None:
    # Six cases, one every two days: ten days in all, at most four in any seven days.
    spread = [record(case=f"BPD-{i}", filed_at=at(2 * i, 10)) for i in range(6)]
    assert rules_of(spread) == []
    assert rules_of(spread, cases_per_requester=4) == [MisuseRule.CASES_PER_REQUESTER]
    # Overlapping windows make one finding over the whole stretch.
    [finding] = scan(spread, dataclasses.replace(POLICY, cases_per_requester=4), NOW)
    assert finding.request_ids == tuple(sorted(r.request_id for r in spread))
    assert finding.details["most_in_window"] == 4


def test_cases_per_requester_counts_people_apart() -> None:
    records = [record(case=f"BPD-{i}", requester=f"det-{i % 2}") for i in range(10)]
    assert rules_of(records) == []


# -- odd_hour_searches ---------------------------------------------------------------------


@pytest.mark.parametrize(("n", "flagged"), [(3, True), (2, False)])
def test_odd_hour_searches(n: int, flagged: bool) -> None:
    hours = [23, 0, 4][:n]
    records = [record(case=f"BPD-{h}", filed_at=at(3 + i, h, 30)) for i, h in enumerate(hours)]
    records += [record(case="BPD-day", filed_at=at(1, h)) for h in (5, 22)]  # not odd
    assert rules_of(records) == ([MisuseRule.ODD_HOUR_SEARCHES] if flagged else [])


def test_odd_hours_are_read_in_the_profiles_time_zone() -> None:
    # 03:00 UTC is 23:00 in New York (summer): odd there, whatever the hour in UTC.
    utc_three = [record(case=f"C-{i}", filed_at=at(i + 2, 23)) for i in range(3)]
    assert {r.filed_at.hour for r in utc_three} == {3}
    assert rules_of(utc_three) == [MisuseRule.ODD_HOUR_SEARCHES]
    assert rules_of(utc_three, timezone="Asia/Tokyo") == []  # 12:00 in Tokyo


@pytest.mark.parametrize(
    ("hour", "start", "end", "odd"),
    [
        (23, 23, 5, True),
        (0, 23, 5, True),
        (4, 23, 5, True),
        (5, 23, 5, False),
        (22, 23, 5, False),
        (12, 23, 5, False),
        (1, 1, 5, True),
        (5, 1, 5, False),
        (0, 1, 5, False),
        (3, 3, 3, False),  # equal bounds: no odd hours
    ],
)
def test_is_odd_hour(hour: int, start: int, end: int, odd: bool) -> None:
    assert is_odd_hour(hour, start, end) is odd


# -- probe_cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "flagged"), [(3, True), (2, False)])
def test_probe_cases_by_hash(n: int, flagged: bool) -> None:
    face = unit_vector()
    records = [record(case=f"BPD-{i}", probe=sha("ex"), embedding=face) for i in range(n)]
    records.append(record(case="BPD-0", probe=sha("ex"), embedding=face))  # a re-search
    found = scan(records, dataclasses.replace(POLICY, probe_cases=3), NOW)
    assert [f.rule for f in found] == ([MisuseRule.PROBE_CASES] if flagged else [])
    if flagged:
        assert found[0].details["by_embedding"] is False
        assert "one identical photo file (SHA-256)" in found[0].explanation
        assert len(found[0].request_ids) == n + 1


@pytest.mark.parametrize(("cosine", "flagged"), [(0.95, True), (0.90, False)])
def test_probe_cases_by_near_duplicate_embedding(cosine: float, flagged: bool) -> None:
    face = unit_vector()
    # Different photo files (a crop, a re-encoding) of one face; scaled, so they are
    # normalised before the comparison.
    records = [
        record(case="BPD-1", embedding=face * 3),
        record(case="BPD-2", embedding=near(face, cosine) * 0.5),
    ]
    found = scan(records, POLICY, NOW)
    assert [f.rule for f in found] == ([MisuseRule.PROBE_CASES] if flagged else [])
    if flagged:
        assert found[0].details["by_embedding"] is True
        assert found[0].details["min_similarity"] == "0.950"
        assert "the profile's bound is 0.920" in found[0].explanation


def test_probes_without_embeddings_are_compared_by_hash_only() -> None:
    records = [
        record(case="BPD-1", embedding=None),
        record(case="BPD-2", embedding=None),
    ]
    records = [dataclasses.replace(r, probe_embedding=None) for r in records]
    assert rules_of(records) == []


# -- subject_cases -------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "flagged"), [(3, True), (2, False)])
def test_subject_cases(n: int, flagged: bool) -> None:
    records = [record(case=f"BPD-{i}", subjects=(("booking", 17),)) for i in range(n)]
    records.append(record(case="BPD-0", subjects=(("booking", 17), ("booking", 5))))
    found = scan(records, POLICY, NOW)
    assert [f.rule for f in found] == ([MisuseRule.SUBJECT_CASES] if flagged else [])
    if flagged:
        assert found[0].details["subject_id"] == 17
        assert "within the gallery's threshold or a reviewer marked it" in found[0].explanation
        assert found[0].key == "booking:17"


def test_two_subjects_over_the_same_requests_are_two_findings() -> None:
    pair = (("booking", 1), ("booking", 2))
    records = [record(case=f"BPD-{i}", subjects=pair) for i in range(3)]
    found = scan(records, POLICY, NOW)
    assert [f.key for f in found] == ["booking:1", "booking:2"]
    assert found[0].fingerprint != found[1].fingerprint


# -- narrative_cases -----------------------------------------------------------------------


@pytest.mark.parametrize(("n", "flagged"), [(3, True), (2, False)])
def test_narrative_cases(n: int, flagged: bool) -> None:
    records = [
        record(case=f"BPD-{i}", narrative=BOILERPLATE.format(d=i + 1, m=2)) for i in range(n)
    ]
    records.append(record(case="BPD-0", narrative=BOILERPLATE.format(d=9, m=9)))
    found = scan(records, POLICY, NOW)
    assert [f.rule for f in found] == ([MisuseRule.NARRATIVE_CASES] if flagged else [])
    if flagged:
        assert found[0].details["min_similarity"] == "1.000"
        assert "the profile's bound is 0.85" in found[0].explanation


def test_the_same_boilerplate_by_different_requesters_is_not_one_pattern() -> None:
    records = [
        record(case=f"BPD-{i}", requester=f"det-{i}", narrative=BOILERPLATE.format(d=1, m=1))
        for i in range(4)
    ]
    assert rules_of(records) == []


def test_narrative_similarity_bound() -> None:
    words = " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(40))
    changed = words.rsplit(" ", 1)[0] + " different"  # 37 of 39 shingles shared
    a, b = shingles(words), shingles(changed)
    assert jaccard(a, b) == pytest.approx(37 / 39)
    records = [
        record(case="C-1", narrative=words),
        record(case="C-2", narrative=words),
        record(case="C-3", narrative=changed),
    ]
    assert rules_of(records, narrative_similarity=0.94) == [MisuseRule.NARRATIVE_CASES]
    assert rules_of(records, narrative_similarity=0.96) == []


def test_narratives_are_normalised() -> None:
    assert normalise("Seen at 10:45,  on Main-St.\nCALL 555-1234!") == [
        "seen",
        "at",
        "0",
        "0",
        "on",
        "main",
        "st",
        "call",
        "0",
        "0",
    ]
    assert shingles("") == frozenset()
    assert shingles("Robbery.") == frozenset({("robbery",)})
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_empty_narratives_never_match() -> None:
    records = [record(case=f"C-{i}", narrative="") for i in range(4)]
    assert rules_of(records) == []
