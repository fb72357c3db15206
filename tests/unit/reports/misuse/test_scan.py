"""The scan as a whole: fingerprints, the window, aware times, and thousands of records."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from faceledger.reports.misuse import CaseRecord, Finding, MisuseRule, scan
from tests.unit.reports.misuse.history import (
    NOW,
    POLICY,
    at,
    evansville_history,
    near,
    record,
    unit_vector,
)


def test_the_same_pattern_has_the_same_fingerprint() -> None:
    history = evansville_history()
    first = [f.fingerprint for f in scan(history, POLICY, NOW)]
    again = [f.fingerprint for f in scan(list(reversed(history)), POLICY, NOW)]
    assert first == again
    assert len(set(first)) == len(first)


def test_the_fingerprint_is_sha256_of_rule_requests_and_key() -> None:
    import hashlib

    finding = Finding(MisuseRule.SUBJECT_CASES, "t", "e", (9, 2, 5), {}, key="g:1")
    expected = hashlib.sha256(b"subject_cases\n2,5,9\ng:1").hexdigest()
    assert finding.fingerprint == expected
    assert dataclasses.replace(finding, key="g:2").fingerprint != expected
    assert dataclasses.replace(finding, request_ids=(2, 5)).fingerprint != expected


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        scan([], POLICY, dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        dataclasses.replace(record(), filed_at=dt.datetime(2024, 1, 1))


def test_thousands_of_records() -> None:
    """3,000 requests by 150 people, one planted near-duplicate probe pair: found, nothing
    else (the similarity matrix is computed in blocks)."""
    records: list[CaseRecord] = [
        record(case=f"K-{i}", requester=f"det-{i % 150}", filed_at=at(i / 10, 9 + i % 8))
        for i in range(3000)
    ]
    face = unit_vector(7)
    records[10] = dataclasses.replace(records[10], probe_embedding=face)
    records[2500] = dataclasses.replace(records[2500], probe_embedding=near(face, 0.97))
    found = scan(records, POLICY, NOW)
    assert [(f.rule, f.request_ids) for f in found] == [
        (MisuseRule.PROBE_CASES, (records[10].request_id, records[2500].request_id))
    ]
