"""Reading a request's ledger entries into the facts of its disclosure packet (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from faceledger.reports.disclosure import extract_facts
from faceledger.reports.disclosure.collect import SECTIONS
from faceledger.service.disclosures import ACTION_NAMES
from faceledger.service.ledger_actions import LedgerAction
from tests.unit.reports.disclosure.synthetic import REQUEST_ID, Built, build


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("calibrated"))


def _entries(built: Built) -> list[dict[str, Any]]:
    return [{**r.to_dict(), "proof": p.to_dict()} for r, p in built.proven]


def _facts(built: Built) -> dict[str, Any]:
    docs = {d.id: d for d in built.documents}
    return {f.id: f for f in extract_facts(REQUEST_ID, _entries(built), docs, ACTION_NAMES)}


def test_every_item_of_the_issue_has_its_fact(calibrated: Built) -> None:
    facts = _facts(calibrated)
    values = {fid: f.value for fid, f in facts.items()}
    assert values["use.search"] == "request.search"
    assert values["search.model.embedder"]["name"] == "SYNTHETIC-embedder"
    assert values["accuracy.0.summary.rank1"] == 0.985  # the stored evaluation's figure
    assert values["accuracy.0.figure.rank1_micro"] == 985000  # the gate's entry's figure
    assert values["accuracy.0.summary.group.sex_id.0"]["group"] == "female"
    assert (values["gallery.0.name"], values["gallery.0.size"]) == ("booking", 912)
    assert values["probe.sha256"] == "a" * 64 and values["probe.source"] == "still_photo"
    assert [values["candidate.0"]["rank"], values["candidate.1"]["rank"]] == [1, 2]
    assert (
        values["review.first.reviewer"] == "ex-two" and values["review.peer.reviewer"] == "rev-one"
    )
    assert values["review.first.marks"][1]["note"] == "different ears"  # revealed by the peer
    assert "review.first.time" in values and "review.peer.time" in values
    assert values["lead_use.0.corroboration"] == "Lab report 24-77"
    assert values["legal_basis.order_id"] == "SUCR-24-123"
    # Sources: the candidate list comes from the search entry, the figure from the summary.
    assert facts["candidate.1"].source.pointer == "/payload/candidates/1"
    assert facts["accuracy.0.summary.rank1"].source.document == "evaluation-4"


def test_facts_come_in_section_order_with_unique_ids(calibrated: Built) -> None:
    facts = list(_facts(calibrated).values())
    order = [name for name, _ in SECTIONS]
    positions = [order.index(f.section) for f in facts]
    assert positions == sorted(positions)
    assert len({f.id for f in facts}) == len(facts)


def test_the_reading_is_deterministic(calibrated: Built) -> None:
    assert list(_facts(calibrated)) == list(_facts(calibrated))


def test_entries_of_another_request_state_nothing(calibrated: Built) -> None:
    entries = _entries(calibrated)
    other = [{**e, "object_id": "99"} for e in entries if e["object_type"] == "request"]
    assert extract_facts(REQUEST_ID, other, {}, ACTION_NAMES) == []


def test_an_uncalibrated_threshold_says_not_evaluated(tmp_path: Path) -> None:
    facts = _facts(build(tmp_path, calibrated=False))
    fact = facts["accuracy.0.evaluated"]
    assert fact.value is False and "NOT EVALUATED" in fact.label
    assert not [fid for fid in facts if fid.startswith("accuracy.0.summary")]


def test_a_request_never_searched_has_no_search_facts(tmp_path: Path) -> None:
    facts = _facts(build(tmp_path, searched=False))
    assert "request.case_number" in facts
    assert not [f for f in facts if f.startswith(("use.", "search.", "candidate."))]


def test_an_entry_without_payload_states_its_time_and_actor_only(calibrated: Built) -> None:
    entries = [
        {k: v for k, v in e.items() if k != "payload" or e["action"] != LedgerAction.REQUEST_SEARCH}
        for e in _entries(calibrated)
    ]
    facts = {f.id for f in extract_facts(REQUEST_ID, entries, {}, ACTION_NAMES)}
    assert {"use.search", "search.time", "search.actor"} <= facts
    assert not [f for f in facts if f.startswith(("candidate.", "gallery.", "search.operator"))]


def test_an_unknown_action_on_the_request_is_listed_not_dropped(calibrated: Built) -> None:
    [first, *rest] = [e for e in _entries(calibrated) if e["object_type"] == "request"]
    odd = {**first, "action": "request.something_new", "seq": 999}
    facts = {f.id: f for f in extract_facts(REQUEST_ID, [*rest, odd], {}, ACTION_NAMES)}
    assert facts["entry.999.action"].value == "request.something_new"
    assert facts["entry.999.action"].section == "other"


def test_summary_text_hashes_as_the_evaluation_entry_records() -> None:
    """The packet keeps an evaluation summary as the exact text the service hashed."""
    import hashlib

    from faceledger.reports.disclosure import summary_text
    from faceledger.service.deployments import summary_sha256
    from tests.unit.reports.disclosure.synthetic import SUMMARY

    assert hashlib.sha256(summary_text(SUMMARY).encode()).hexdigest() == summary_sha256(SUMMARY)
