"""The search lifecycle end to end through the service, on real photos, under the
massachusetts profile: the allowed path and each kind of denial, with the ledger verified by
an outsider's check after each."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from faceledger.errors import (
    Conflict,
    InvalidImage,
    NotFound,
    PermissionDenied,
    PolicyDenied,
)
from faceledger.governance.accounts import User
from faceledger.governance.forms import RequestForm
from faceledger.governance.models import ProbeImage, RequestRow
from faceledger.service.violations import ViolationView
from tests.conftest import ACTOR, GALLERY
from tests.e2e.conftest import Unit

pytestmark = pytest.mark.slow  # the real face models

COURT_ORDER = {
    "court": "Suffolk Superior Court",
    "order_id": "SUCR2026-0042",
    "judge": "Hon. A. Justice",
    "issued_on": (dt.date.today() - dt.timedelta(days=2)).isoformat(),
    "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
}
FORM = RequestForm(
    case_number="BPD-2026-1187",
    offence_code="armed_robbery",
    narrative="Armed robbery of a convenience store; the clerk photographed the suspect with "
    "a phone camera at the counter.",
    legal_basis_kind="court_order",
    legal_basis=COURT_ORDER,
    probe_source="still_photo",
    attested=True,
    attestation_text="The subject is not sought for religion, politics or any protected activity.",
    purpose="criminal_investigation",
    galleries=(GALLERY,),
)


def form(**changes: Any) -> RequestForm:
    return dataclasses.replace(FORM, **changes)


def probe(unit: Unit, name: str = "people/obama/obama_small.jpg") -> bytes:
    return (unit.faces / name).read_bytes()


def violations(unit: Unit) -> list[ViolationView]:
    """Every violation, oldest first, as an auditor lists them."""
    found, _ = unit.service.violations.list_violations(unit.auditor, limit=1000)
    return found[::-1]


def ledger_size(unit: Unit) -> int:
    with unit.service.context.db.read() as session:
        return unit.service.context.ledger.tree_size(session)


def denials(unit: Unit) -> list[dict[str, Any]]:
    """The payloads of every access.denied ledger entry, oldest first."""
    with unit.service.context.db.read() as session:
        found = unit.service.context.ledger.query(session, action="access.denied", limit=1000)
    return [dict(e.payload or {}) for e in found]


def marks(view: Any, lead_rank: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "candidate_id": c["id"],
            "outcome": "possible_lead" if c["rank"] == lead_rank else "not_match",
            "note": "eyes, nose bridge and ear shape agree" if c["rank"] == lead_rank else "",
        }
        for c in view.candidates
    ]


def test_court_order_request_to_release(unit: Unit) -> None:
    s = unit.service
    filed = s.requests.submit_request(unit.requester, FORM, probe(unit), "probe.jpg")
    assert filed.state == "approved"
    assert filed.to_dict()["decision"]["allowed"] is True
    unit.verify_ledger()

    searched = s.requests.run_request_search(unit.examiner, filed.id)
    assert searched.state == "searched"
    first = searched.candidates[0]
    assert (first["rank"], first["external_id"], first["within_threshold"]) == (1, "obama", True)
    assert len(searched.candidates) <= s.policy.active_profile().results.max_candidates
    run = searched.to_dict()["run"]
    assert run["operator"] == unit.examiner.username
    assert run["models"]["embedder"]["name"] == "opencv_zoo_sface_2021dec"
    (threshold,) = run["thresholds"]
    assert threshold["calibrated"] and threshold["gallery_size"] == 54
    unit.verify_ledger()

    # The requester sees nothing of the candidate list before release.
    assert s.requests.get_request(unit.requester, filed.id).candidates == []

    reviewed = s.reviews.submit_review(unit.second_examiner, filed.id, marks(searched))
    assert reviewed.state == "reviewed"
    blind = s.requests.get_request(unit.reviewer, filed.id)
    assert blind.to_dict()["reviews"] == []
    assert any("blind peer review" in n for n in blind.to_dict()["notices"])
    peer = s.reviews.submit_review(unit.reviewer, filed.id, marks(searched))
    assert peer.state == "peer_reviewed"
    assert {r["reviewer"] for r in peer.to_dict()["reviews"]} == {"ex-park", "ex-lee"}
    unit.verify_ledger()

    released = s.reviews.release_request(unit.examiner, filed.id)
    assert released.state == "released"
    seen = s.requests.get_request(unit.requester, filed.id)
    assert [c["external_id"] for c in seen.candidates] == ["obama"]
    assert seen.to_dict()["release"]["caveat"] == (
        "investigative lead only — not probable cause for arrest"
    )
    unit.verify_ledger()

    # R11: an arrest needs corroboration; further investigation does not.
    lead = seen.candidates[0]["id"]
    with pytest.raises(PolicyDenied, match="independent corroborating evidence"):
        s.reviews.record_lead_use(unit.requester, filed.id, lead, "arrest")
    used = s.reviews.record_lead_use(
        unit.requester, filed.id, lead, "arrest", "Latent print ID LP-778"
    )
    assert used.to_dict()["lead_uses"][0]["corroboration_ref"] == "Latent print ID LP-778"
    assert [v.requirements for v in violations(unit)] == [("R11", "R18")]
    report = unit.verify_ledger()
    with s.context.db.read() as session:
        actions = [
            e.action for e in s.context.ledger.query(session, object_type="request", limit=50)
        ]
    assert actions == [
        "request.submit",
        "request.search",
        "request.review.first",
        "request.review.peer",
        "request.release",
        "access.denied",
        "request.lead_use",
    ]
    # The refused arrest use is recorded once, as the one kind of refusal entry.
    [denied] = denials(unit)
    assert denied["action"] == "request.lead_use"
    assert "R11" in denied["requirements"]
    assert any("independent corroborating evidence" in r for r in [denied["reason"]])
    assert report.signed_size == report.tree_size  # every entry is under a signature


@pytest.mark.parametrize(
    ("changes", "requirement", "words", "violation"),
    [
        ({"offence_code": "shoplifting"}, "R6", "misdemeanour", False),
        ({"narrative": "Robbery."}, "R6", "narrative", False),
        ({"probe_source": "video_frame"}, "R7", "video_frame", True),
        ({"purpose": "immigration_enforcement"}, "R8", "immigration_enforcement", True),
        ({"attested": False}, "R8", "attest", True),
        (
            {"legal_basis": {**COURT_ORDER, "expires_on": "2026-01-01", "issued_on": "2025-12-01"}},
            "R3",
            "expired",
            False,
        ),
        ({"legal_basis_kind": "investigation", "legal_basis": {}}, "R3", "investigation", False),
    ],
    ids=[
        "R6-misdemeanour",
        "R6-no-narrative",
        "R7-video-frame",
        "R8-immigration",
        "R8-no-attestation",
        "R3-expired-order",
        "R3-no-court-order",
    ],
)
def test_denied_submissions_are_kept_with_reasons(
    unit: Unit, changes: dict[str, Any], requirement: str, words: str, violation: bool
) -> None:
    s = unit.service
    with pytest.raises(PolicyDenied) as info:
        s.requests.submit_request(unit.requester, form(**changes), probe(unit))
    assert requirement in info.value.details["requirements"]
    assert any(words in r for r in info.value.details["reasons"]), info.value.details["reasons"]
    (denied,), total = s.requests.list_requests(unit.supervisor)
    assert total == 1 and denied.state == "denied"
    assert any(words in r for r in denied.to_dict()["decision"]["reasons"])
    assert bool(violations(unit)) is violation
    # A forbidden use (R7, R8) is also recorded as a refusal; an ordinary denial is not.
    assert [d["action"] for d in denials(unit)] == (["request.submit"] if violation else [])
    # A denied request never reaches the unit's examiners: it is not there for them.
    with pytest.raises(NotFound, match=f"no search request {denied.id}"):
        s.requests.run_request_search(unit.examiner, denied.id)
    assert s.requests.get_request(unit.supervisor, denied.id).state == "denied"
    unit.verify_ledger()


def test_only_examiners_of_the_operating_unit_run_searches(unit: Unit) -> None:
    s = unit.service
    filed = s.requests.submit_request(unit.requester, FORM, probe(unit))
    before = ledger_size(unit)
    # The requester sees the request but is not of the operating unit.
    with pytest.raises(PermissionDenied, match="operating unit"):
        s.requests.run_request_search(unit.requester, filed.id)
    # An examiner of another agency does not even learn that the request exists.
    with pytest.raises(NotFound, match=f"no search request {filed.id}"):
        s.requests.run_request_search(unit.outsider_examiner, filed.id)
    # The auditor reads every request but may not search (R1).
    with pytest.raises(PolicyDenied) as info:
        s.requests.run_request_search(unit.auditor, filed.id)
    assert "R1" in info.value.details["requirements"]
    assert s.requests.get_request(unit.supervisor, filed.id).state == "approved"
    assert len(violations(unit)) == 3
    assert [d["action"] for d in denials(unit)] == ["request.search"] * 3
    assert ledger_size(unit) == before + 3  # one access.denied entry each, nothing else
    unit.verify_ledger()


def test_lapsed_training_blocks_the_examiner(unit: Unit) -> None:
    s = unit.service
    with s.context.db.transaction() as session:  # a year passes: the certificate ran out yesterday
        user = session.get(User, unit.examiner.id)
        assert user is not None
        user.training_certified_until = dt.date.today() - dt.timedelta(days=1)
    filed = s.requests.submit_request(unit.requester, FORM, probe(unit))
    with pytest.raises(PolicyDenied) as info:
        s.requests.run_request_search(unit.refresh(unit.examiner), filed.id)
    assert "R2" in info.value.details["requirements"]
    assert any("training" in r for r in info.value.details["reasons"])
    # Deciding on the account as stored, not as logged in: a stale copy is refused too.
    with pytest.raises(PolicyDenied):
        s.requests.run_request_search(unit.examiner, filed.id)


def test_peer_review_must_be_independent(unit: Unit) -> None:
    s = unit.service
    filed = s.requests.submit_request(unit.requester, FORM, probe(unit))
    searched = s.requests.run_request_search(unit.examiner, filed.id)
    # The operator may not also review the list it produced (R10).
    before = ledger_size(unit)
    with pytest.raises(PermissionDenied, match="four different people"):
        s.reviews.submit_review(unit.examiner, filed.id, marks(searched))
    assert ledger_size(unit) == before + 1
    assert s.requests.get_request(unit.supervisor, filed.id).state == "searched"
    s.reviews.submit_review(unit.second_examiner, filed.id, marks(searched))
    # Neither the first reviewer, nor the operator, nor the requester may do the peer review.
    for person in (unit.second_examiner, unit.examiner):
        before = ledger_size(unit)
        with pytest.raises(PermissionDenied, match="four different people"):
            s.reviews.submit_review(person, filed.id, marks(searched))
        assert ledger_size(unit) == before + 1
    with pytest.raises(PermissionDenied):
        s.reviews.submit_review(unit.requester, filed.id, marks(searched))
    assert [d["action"] for d in denials(unit)] == ["request.review.first"] + [
        "request.review.peer"
    ] * 3
    with pytest.raises(Conflict, match="is reviewed, not peer_reviewed"):
        s.reviews.release_request(unit.examiner, filed.id)
    assert s.requests.get_request(unit.supervisor, filed.id).state == "reviewed"
    assert s.requests.get_request(unit.supervisor, filed.id).to_dict()["reviews"][0][
        "reviewer"
    ] == ("ex-park")
    unit.verify_ledger()


def test_disagreeing_reviews_release_nothing_and_close_as_no_lead(unit: Unit) -> None:
    s = unit.service
    filed = s.requests.submit_request(unit.requester, FORM, probe(unit))
    searched = s.requests.run_request_search(unit.examiner, filed.id)
    s.reviews.submit_review(unit.second_examiner, filed.id, marks(searched, lead_rank=1))
    s.reviews.submit_review(unit.reviewer, filed.id, marks(searched, lead_rank=2))
    with pytest.raises(Conflict, match="close it as no_lead"):
        s.reviews.release_request(unit.examiner, filed.id)
    closed = s.reviews.close_no_lead(
        unit.examiner, filed.id, "Reviewers did not agree on any lead."
    )
    assert closed.state == "no_lead"
    assert s.requests.get_request(unit.requester, filed.id).candidates == []


def test_emergency_needs_a_supervisor_then_a_court_filing(unit: Unit) -> None:
    s = unit.service
    emergency = form(
        legal_basis_kind="emergency",
        legal_basis={
            "facts": "Child abducted an hour ago; the suspect's photo came from a doorbell still."
        },
    )
    filed = s.requests.submit_request(unit.requester, emergency, probe(unit))
    assert filed.state == "submitted"
    deadline = dt.datetime.fromisoformat(filed.to_dict()["emergency"]["filing_deadline"])
    declared = dt.datetime.fromisoformat(filed.to_dict()["legal_basis"]["declared_at"])
    assert deadline - declared == dt.timedelta(hours=48)
    # Not approved yet: the unit's examiners do not see it at all.
    with pytest.raises(NotFound, match=f"no search request {filed.id}"):
        s.requests.run_request_search(unit.examiner, filed.id)
    with pytest.raises(NotFound, match=f"no search request {filed.id}"):
        s.requests.approve_emergency(unit.examiner, filed.id)  # not a supervisor (R1)
    # The requester who filed it may not approve it either (R4).
    before = ledger_size(unit)
    with pytest.raises((PermissionDenied, PolicyDenied)):
        s.requests.approve_emergency(unit.requester, filed.id)
    assert ledger_size(unit) == before + 1
    assert s.requests.get_request(unit.supervisor, filed.id).state == "submitted"
    approved = s.requests.approve_emergency(unit.supervisor, filed.id)
    assert approved.state == "approved_emergency"
    assert approved.to_dict()["emergency"]["approving_supervisor"] == "sup-brown"
    assert s.requests.run_request_search(unit.examiner, filed.id).state == "searched"
    filed_statement = s.emergencies.file_emergency_statement(unit.requester, filed.id, "SUCR-EM-7")
    assert filed_statement.to_dict()["emergency"]["filing_reference"] == "SUCR-EM-7"
    report = s.emergencies.run_due(unit.supervisor)
    assert (report.flagged, report.sealed) == ((), ())
    assert s.requests.get_request(unit.supervisor, filed.id).state == "searched"
    unit.verify_ledger()


def test_overdue_emergency_raises_a_violation_once(unit: Unit) -> None:
    s = unit.service
    three_days_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).isoformat()
    emergency = form(
        legal_basis_kind="emergency",
        legal_basis={
            "facts": "Armed man threatening hostages; still photo from a hostage's phone.",
            "declared_at": three_days_ago,
        },
    )
    filed = s.requests.submit_request(unit.requester, emergency, probe(unit))
    with pytest.raises(PolicyDenied, match="has not been made"):
        s.requests.approve_emergency(unit.supervisor, filed.id)
    # Still submitted: not approved, so nothing to flag or seal yet.
    report = s.emergencies.run_due(unit.supervisor)
    assert (report.flagged, report.sealed) == ((), ())
    with s.context.db.transaction() as session:  # the supervisor approved it in time, long ago
        row = session.get(RequestRow, filed.id)
        assert row is not None
        row.state = "approved_emergency"
    report = s.emergencies.run_due(unit.supervisor)
    assert (report.flagged, report.sealed) == ((filed.id,), (filed.id,))
    sealed = s.requests.get_request(unit.supervisor, filed.id)
    assert sealed.state == "sealed" and sealed.candidates == []
    with s.context.db.read() as session:
        stored = session.get(ProbeImage, sealed.probe.sha256)
        assert stored is not None and stored.data is None
        [job] = s.context.ledger.query(session, action="jobs.run", limit=10)[-1:]
    assert not sealed.probe.available
    assert job.seq == report.ledger_seq
    again = s.emergencies.run_due(ACTOR)  # the local operator may run the due jobs too
    assert (again.flagged, again.sealed) == ((), ())
    kinds = [v.kind for v in violations(unit)]
    assert kinds.count("overdue_emergency_filing") == 1
    listed, _ = s.violations.list_violations(unit.auditor)
    assert any("has not been made" in v.reason for v in listed)
    with pytest.raises(PermissionDenied):
        s.violations.list_violations(unit.requester)
    before = ledger_size(unit)
    with pytest.raises(PermissionDenied):
        s.emergencies.run_due(unit.examiner)
    assert ledger_size(unit) == before + 1
    assert denials(unit)[-1]["action"] == "jobs.run_due"
    unit.verify_ledger()


def test_court_refusal_seals_and_deletes_linked_data(unit: Unit) -> None:
    s = unit.service
    emergency = form(
        legal_basis_kind="emergency",
        legal_basis={"facts": "Missing person at risk; still photo from a store camera operator."},
    )
    filed = s.requests.submit_request(unit.requester, emergency, probe(unit))
    s.requests.approve_emergency(unit.supervisor, filed.id)
    s.requests.run_request_search(unit.examiner, filed.id)
    sealed = s.emergencies.record_court_refusal(
        unit.supervisor, filed.id, "Order refused on 2026-11-20."
    )
    assert sealed.state == "sealed"
    assert sealed.candidates == []
    with s.context.db.read() as session:
        stored = session.get(ProbeImage, sealed.probe.sha256)
        assert stored is not None and stored.data is None
    assert not sealed.probe.available
    with pytest.raises(Conflict):
        s.reviews.submit_review(unit.second_examiner, filed.id, [])
    unit.verify_ledger()


def test_bad_probe_files_nothing(unit: Unit) -> None:
    s = unit.service
    with s.context.db.read() as session:
        before = (
            session.scalar(select(func.count()).select_from(RequestRow)),
            s.context.ledger.tree_size(session),
        )
    with pytest.raises(InvalidImage):
        s.requests.submit_request(unit.requester, FORM, b"\xff\xd8\xff\xe0 truncated", "probe.jpg")
    with s.context.db.read() as session:
        after = (
            session.scalar(select(func.count()).select_from(RequestRow)),
            s.context.ledger.tree_size(session),
        )
    assert before == after
