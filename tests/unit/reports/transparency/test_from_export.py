"""Rebuilding the facts from a public ledger export alone: the same facts as the history that
wrote it, verified first with the public key, refused when broken."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import VerificationFailed
from faceledger.reports.transparency import Period, RequestFacts, build_report
from faceledger.reports.transparency.from_export import read_export

from .synthetic import Entry, History, history, signed_export

KEY = Ed25519PrivateKey.generate()
YEAR = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture(scope="module")
def synthetic() -> History:
    return history(400, seed=11, agencies=6)


@pytest.fixture(scope="module")
def lines(synthetic: History) -> list[str]:
    return list(signed_export(synthetic.entries, KEY))


def by_id(facts: tuple[RequestFacts, ...] | list[RequestFacts]) -> dict[str, RequestFacts]:
    return {f.request_id: f for f in facts}


def test_the_export_gives_back_every_fact_of_the_history(
    synthetic: History, lines: list[str]
) -> None:
    facts = read_export(lines, KEY.public_key())
    assert facts.verified is not None and facts.verified.tree_size == len(synthetic.entries)
    assert facts.entries == len(synthetic.entries)
    assert by_id(facts.requests) == by_id(synthetic.requests)
    assert sorted(facts.violations, key=repr) == sorted(synthetic.violations, key=repr)


def test_both_ways_give_the_same_public_report(synthetic: History, lines: list[str]) -> None:
    facts = read_export(lines, KEY.public_key())
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def public(requests, violations) -> dict:  # type: ignore[no-untyped-def,type-arg]
        return build_report(
            requests,
            violations,
            YEAR,
            public=True,
            small_cell_min=5,
            profile="massachusetts",
            source="s",
            generated_at=now,
        ).to_dict()

    from_records = public(synthetic.requests, synthetic.violations)
    assert public(facts.requests, facts.violations) == from_records
    assert from_records["totals"]["searches"] == sum(
        1 for r in synthetic.requests if YEAR.contains(r.searched_at)
    )


def test_a_changed_public_field_is_refused_with_the_key(lines: list[str]) -> None:
    changed = list(lines)
    for i, line in enumerate(changed):
        record = json.loads(line)
        if "candidates" in record.get("public", {}):
            record["public"]["candidates"] += 1
            changed[i] = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
            break
    with pytest.raises(VerificationFailed, match="Entry") as caught:
        read_export(changed, KEY.public_key())
    assert caught.value.details["kind"] == "entry"
    # Without the key nothing can tell, which is why --public-key exists.
    assert read_export(changed, None).verified is None


def test_an_export_signed_by_another_key_is_refused(lines: list[str]) -> None:
    with pytest.raises(VerificationFailed, match="not signed by the given public key"):
        read_export(lines, Ed25519PrivateKey.generate().public_key())


def test_a_truncated_export_is_refused(lines: list[str]) -> None:
    with pytest.raises(VerificationFailed):
        read_export(lines[:-5], KEY.public_key())


@pytest.mark.parametrize(
    "text", ["not json\n", '{"type": "entry"}\n', "", '{"type":"checkpoint"}\n']
)
def test_a_file_that_is_not_an_export_is_refused(text: str) -> None:
    with pytest.raises(VerificationFailed):
        read_export([text] if text else [], None)


def test_entries_without_public_fields_or_filing_are_not_counted() -> None:
    ts = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    entries = [
        Entry(ts, "local:x", "system.init", "system", "faceledger", {}),
        # A search whose filing entry predates public fields: nothing to count it by.
        Entry(ts, "user:e", "request.search", "request", "9", {"candidates": 2}),
        Entry(ts, "user:d", "request.submit", "request", "10", {
            "agency": "a", "legal_basis": "court_order", "offence_class": "felony",
            "emergency": False, "state": "approved", "outcome": "pending"}),
    ]  # fmt: skip
    facts = read_export(list(signed_export(entries, KEY)), KEY.public_key())
    assert [f.request_id for f in facts.requests] == ["10"]
    assert facts.requests[0].outcome == "pending" and facts.requests[0].filing == ""
    assert facts.entries == 3
