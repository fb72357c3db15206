"""One table per requirement (R1-R11, R18) under the massachusetts profile.

Each row changes the passing default context of ``make_ctx`` and names the exact reason the
decision must give (``None``: the decision must be allowed). Row ids start with the R-number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from faceledger.governance import (
    Action,
    AgencyKind,
    Attestation,
    AuthorityKind,
    CandidateMark,
    CourtOrder,
    DeceasedOrIncapacitated,
    Emergency,
    Investigation,
    LeadUse,
    LeadUseKind,
    PolicyEngine,
    ProbeSource,
    Profile,
    Purpose,
    Release,
    Review,
    ReviewOutcome,
    ReviewStage,
    Role,
    SearchRequest,
    ViolationKind,
    filing_violation,
    overdue_emergency_filings,
    violation_from_decision,
)

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)  # the factory's default ``now``
HOUR = dt.timedelta(hours=1)
CAVEAT = "investigative lead only — not probable cause for arrest"
ORDER = CourtOrder(
    "Suffolk Superior Court",
    "SUCR2024-0042",
    "Hon. A. Justice",
    dt.date(2024, 5, 31),
    dt.date(2024, 6, 30),
)
EMERGENCY = Emergency(
    facts="Armed man holding two hostages at 12 Elm St; threatens to shoot them.",
    declared_at=NOW - 2 * HOUR,
    approving_supervisor_id="sergeant-3",
    filing_deadline=NOW + 46 * HOUR,
)
PENDING_EMERGENCY = Emergency(EMERGENCY.facts, NOW - 2 * HOUR, filing_deadline=NOW + 46 * HOUR)
OVERDUE = Emergency(EMERGENCY.facts, NOW - 50 * HOUR, "sergeant-3", NOW - 2 * HOUR)
LATE = Emergency(EMERGENCY.facts, NOW - 50 * HOUR, "sergeant-3", NOW - 2 * HOUR, NOW - HOUR)
REFUSED = Emergency(EMERGENCY.facts, NOW - 2 * HOUR, "sergeant-3", NOW + 46 * HOUR, NOW, True)
FIRST = Review("examiner-1", ReviewStage.FIRST, (CandidateMark("c1", ReviewOutcome.POSSIBLE_LEAD),))
MA_ONLY = "under the massachusetts profile only operating_unit agencies (ma-state-police) may"


def expect(engine: PolicyEngine, ctx: Any, reasons: str | tuple[str, ...] | None) -> None:
    """Assert the decision is allowed (None) or gives exactly ``reasons``."""
    decision = engine.evaluate(ctx)
    if reasons is None:
        assert decision.allowed, decision.reasons
        assert decision.failures == ()
    else:
        assert not decision.allowed
        assert decision.reasons == ((reasons,) if isinstance(reasons, str) else reasons)


@pytest.mark.parametrize(
    ("action", "actor", "reason"),
    [
        pytest.param(Action.RUN_SEARCH, {}, None, id="R1-allow-state-police-examiner-searches"),
        pytest.param(Action.SUBMIT, {}, None, id="R1-allow-any-agency-requester-submits"),
        pytest.param(
            Action.RUN_SEARCH,
            {"agency_id": "boston-pd", "agency_kind": AgencyKind.REQUESTING_AGENCY},
            "User 'examiner-1' of agency 'boston-pd' (requesting_agency) may not run_search; "
            f"{MA_ONLY} (R1).",
            id="R1-deny-requesting-agency-runs-search",
        ),
        pytest.param(
            Action.FIRST_REVIEW,
            {"agency_id": "springfield-pd"},
            "User 'examiner-1' of agency 'springfield-pd' (operating_unit) may not "
            f"first_review; {MA_ONLY} (R1).",
            id="R1-deny-operating-unit-other-than-state-police",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            {"roles": frozenset({Role.REQUESTER})},
            "User 'examiner-1' (roles: requester) may not run_search; it needs one of: "
            "examiner (R1).",
            id="R1-deny-requester-role-runs-search",
        ),
        pytest.param(
            Action.SUBMIT,
            {"user_id": " "},
            "The actor has no individual user id; shared or anonymous accounts may not act (R1).",
            id="R1-deny-anonymous-account",
        ),
    ],
)
def test_r1_operating_unit_and_roles(
    ma_engine: PolicyEngine, make_ctx: Any, action: Action, actor: dict[str, Any], reason: str
) -> None:
    expect(ma_engine, make_ctx(action, actor=actor), reason)


@pytest.mark.parametrize(
    ("action", "actor", "reason"),
    [
        pytest.param(Action.RUN_SEARCH, {}, None, id="R2-allow-approved-trained-examiner"),
        pytest.param(
            Action.SUBMIT,
            {"account_approved": False},
            "Account 'officer-7' has not been approved by a supervisor (R2).",
            id="R2-deny-unapproved-account",
        ),
        pytest.param(
            Action.SUBMIT,
            {"active": False},
            "Account 'officer-7' is deactivated (R2).",
            id="R2-deny-deactivated-account",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            {"training_certified_until": dt.date(2024, 5, 31)},
            "User 'examiner-1' has a training certificate that expired on 2024-05-31; the "
            "massachusetts profile requires training every 365 days (R2).",
            id="R2-deny-training-lapsed",
        ),
        pytest.param(
            Action.PEER_REVIEW,
            {"training_certified_until": None},
            "User 'examiner-2' has no training certificate on record; the massachusetts "
            "profile requires training every 365 days (R2).",
            id="R2-deny-untrained-peer-reviewer",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            {"training_certified_until": dt.date(2027, 1, 1)},
            "User 'examiner-1' has a training certificate running to 2027-01-01, longer than "
            "the 365 days the massachusetts profile allows (R2).",
            id="R2-deny-certificate-longer-than-profile-allows",
        ),
    ],
)
def test_r2_account_and_training(
    ma_engine: PolicyEngine, make_ctx: Any, action: Action, actor: dict[str, Any], reason: str
) -> None:
    expect(ma_engine, make_ctx(action, actor=actor), reason)


@pytest.mark.parametrize(
    ("action", "basis", "reason"),
    [
        pytest.param(Action.SUBMIT, ORDER, None, id="R3-allow-court-order-in-force"),
        pytest.param(Action.RUN_SEARCH, ORDER, None, id="R3-allow-search-under-court-order"),
        pytest.param(
            Action.SUBMIT,
            None,
            "Request 'req-1' has no legal basis; the massachusetts profile accepts: "
            "court_order, deceased_or_incapacitated, emergency (R3).",
            id="R3-deny-no-legal-basis",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            CourtOrder("Suffolk", "X-1", "Hon. B", dt.date(2024, 4, 1), dt.date(2024, 5, 1)),
            "Court order 'X-1' expired on 2024-05-01 (R3).",
            id="R3-deny-search-after-order-expired",
        ),
        pytest.param(
            Action.SUBMIT,
            CourtOrder("Suffolk", "X-2", " ", dt.date(2024, 5, 1), dt.date(2024, 7, 1)),
            "The court order lacks: judge (R3).",
            id="R3-deny-order-without-judge",
        ),
        pytest.param(
            Action.SUBMIT,
            CourtOrder(
                "Ministry",
                "A-3",
                "Director",
                dt.date(2024, 5, 1),
                dt.date(2024, 7, 1),
                AuthorityKind.ADMINISTRATIVE,
            ),
            "An order by an authority of kind 'administrative' is not accepted; the "
            "massachusetts profile accepts orders by: judicial (R3).",
            id="R3-deny-administrative-order",
        ),
        pytest.param(
            Action.SUBMIT,
            Investigation(),
            "Legal basis 'investigation' is not accepted; the massachusetts profile accepts: "
            "court_order, deceased_or_incapacitated, emergency (R3).",
            id="R3-deny-investigation-without-order",
        ),
    ],
)
def test_r3_court_order(
    ma_engine: PolicyEngine, make_ctx: Any, action: Action, basis: Any, reason: str
) -> None:
    expect(ma_engine, make_ctx(action, request={"legal_basis": basis}), reason)


@pytest.mark.parametrize(
    ("action", "basis", "changes", "reason"),
    [
        pytest.param(Action.SUBMIT, PENDING_EMERGENCY, {}, None, id="R4-allow-submit"),
        pytest.param(
            Action.APPROVE_EMERGENCY, PENDING_EMERGENCY, {}, None, id="R4-allow-supervisor-approves"
        ),
        pytest.param(Action.RUN_SEARCH, EMERGENCY, {}, None, id="R4-allow-search-before-deadline"),
        pytest.param(
            Action.FILE_EMERGENCY_STATEMENT, OVERDUE, {}, None, id="R4-allow-filing-even-late"
        ),
        pytest.param(Action.SEAL, OVERDUE, {}, None, id="R4-allow-seal-overdue"),
        pytest.param(Action.SEAL, REFUSED, {}, None, id="R4-allow-seal-refused"),
        pytest.param(
            Action.RUN_SEARCH,
            PENDING_EMERGENCY,
            {},
            "The emergency request has not been approved by a supervisor (R4).",
            id="R4-deny-search-without-supervisor",
        ),
        pytest.param(
            Action.APPROVE_EMERGENCY,
            PENDING_EMERGENCY,
            {"actor": {"user_id": "officer-7"}},
            "The requester may not approve their own emergency request (R4).",
            id="R4-deny-self-approval",
        ),
        pytest.param(
            Action.SUBMIT,
            Emergency(" ", NOW - HOUR, filing_deadline=NOW + 47 * HOUR),
            {},
            "The emergency request gives no written facts of imminent danger (R4).",
            id="R4-deny-no-facts",
        ),
        pytest.param(
            Action.SUBMIT,
            Emergency(EMERGENCY.facts, NOW - HOUR, filing_deadline=NOW + 72 * HOUR),
            {},
            "The court filing deadline 2024-06-04T12:00:00+00:00 is later than the 48 hours "
            "after the declaration that the massachusetts profile allows (R4).",
            id="R4-deny-deadline-beyond-48h",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            OVERDUE,
            {},
            "The court filing for this emergency was due at 2024-06-01T10:00:00+00:00 and has "
            "not been made (R4).",
            id="R4-deny-search-when-filing-overdue",
        ),
        pytest.param(
            Action.RELEASE,
            REFUSED,
            {},
            "The court refused the emergency filing, so its results are sealed (R4).",
            id="R4-deny-release-after-court-refused",
        ),
        pytest.param(
            Action.APPROVE_EMERGENCY,
            ORDER,
            {},
            "Request 'req-1' is not an emergency request (R4).",
            id="R4-deny-emergency-approval-of-court-order-request",
        ),
        pytest.param(
            Action.FILE_EMERGENCY_STATEMENT,
            REFUSED,
            {},
            "The court filing for request 'req-1' was already recorded (R4).",
            id="R4-deny-second-filing",
        ),
        pytest.param(
            Action.SEAL,
            EMERGENCY,
            {},
            "Request 'req-1' cannot be sealed: its court filing is pending and the court has "
            "not refused it (R4).",
            id="R4-deny-seal-while-filing-pending",
        ),
    ],
)
def test_r4_emergency(
    ma_engine: PolicyEngine,
    make_ctx: Any,
    action: Action,
    basis: Any,
    changes: dict[str, Any],
    reason: str,
) -> None:
    expect(ma_engine, make_ctx(action, request={"legal_basis": basis}, **changes), reason)


DECEASED = {
    "offence_code": None,
    "attestation": Attestation(
        True, "Unknown deceased, no suspicion.", Purpose.IDENTIFY_DECEASED_OR_INCAPACITATED
    ),
}


@pytest.mark.parametrize(
    ("action", "description", "reason"),
    [
        pytest.param(
            Action.SUBMIT, "Unidentified man found dead on the Esplanade.", None, id="R5-allow"
        ),
        pytest.param(
            Action.RUN_SEARCH, "Unconscious woman in ICU, no ID.", None, id="R5-allow-search"
        ),
        pytest.param(
            Action.SUBMIT,
            "  ",
            "The request to identify a deceased or incapacitated person gives no description "
            "of the person and circumstances (R5).",
            id="R5-deny-no-description",
        ),
    ],
)
def test_r5_deceased_or_incapacitated(
    ma_engine: PolicyEngine, make_ctx: Any, action: Action, description: str, reason: str
) -> None:
    request = {**DECEASED, "legal_basis": DeceasedOrIncapacitated(description)}
    expect(ma_engine, make_ctx(action, request=request), reason)


@pytest.mark.parametrize(
    ("request_changes", "reason"),
    [
        pytest.param({"offence_code": "murder"}, None, id="R6-allow-violent-felony"),
        pytest.param({"offence_code": "drug_trafficking"}, None, id="R6-allow-felony"),
        pytest.param(
            {"offence_code": "shoplifting"},
            "Offence 'shoplifting' is a misdemeanour; the massachusetts profile allows only: "
            "felony, violent_felony (R6).",
            id="R6-deny-misdemeanour",
        ),
        pytest.param(
            {"offence_code": "jaywalking"},
            "Offence 'jaywalking' is not in the massachusetts offence catalogue (R6).",
            id="R6-deny-unknown-offence",
        ),
        pytest.param(
            {"offence_code": None},
            "The request names no offence (R6).",
            id="R6-deny-no-offence-under-court-order",
        ),
        pytest.param(
            {"case_number": "", "narrative": "Robbery"},
            "The request has no case number; the narrative has 7 characters; the "
            "massachusetts profile requires at least 40 (R6).",
            id="R6-deny-no-case-number-short-narrative",
        ),
    ],
)
def test_r6_offence_and_case(
    ma_engine: PolicyEngine, make_ctx: Any, request_changes: dict[str, Any], reason: str
) -> None:
    expect(ma_engine, make_ctx(Action.SUBMIT, request=request_changes), reason)


@pytest.mark.parametrize(
    ("action", "source", "reason"),
    [
        pytest.param(Action.SUBMIT, ProbeSource.STILL_PHOTO, None, id="R7-allow-still-photo"),
        pytest.param(Action.RUN_SEARCH, ProbeSource.STILL_PHOTO, None, id="R7-allow-search"),
        *[
            pytest.param(
                action,
                source,
                f"Probe source '{source}' is not allowed; the massachusetts profile accepts "
                "only: still_photo (R7).",
                id=f"R7-deny-{source}-at-{action}",
            )
            for source in (ProbeSource.VIDEO_FRAME, ProbeSource.LIVE_STREAM, ProbeSource.SKETCH)
            for action in (Action.SUBMIT, Action.RUN_SEARCH)
        ],
    ],
)
def test_r7_still_photos_only(
    ma_engine: PolicyEngine, make_ctx: Any, action: Action, source: ProbeSource, reason: str
) -> None:
    expect(ma_engine, make_ctx(action, request={"probe_source": source}), reason)


ATTESTED = "The subject is sought as the robbery suspect, not for any protected activity."


@pytest.mark.parametrize(
    ("attestation", "reason"),
    [
        pytest.param(
            Attestation(True, ATTESTED, Purpose.CRIMINAL_INVESTIGATION), None, id="R8-allow"
        ),
        pytest.param(
            Attestation(False, ATTESTED, Purpose.CRIMINAL_INVESTIGATION),
            "The requester has not attested that the subject is not targeted for religion, "
            "politics, protected traits or First Amendment activity (R8).",
            id="R8-deny-not-attested",
        ),
        pytest.param(
            Attestation(True, "", Purpose.CRIMINAL_INVESTIGATION),
            "The protected-activity attestation has no text (R8).",
            id="R8-deny-empty-attestation",
        ),
        *[
            pytest.param(
                Attestation(True, ATTESTED, purpose),
                f"The declared purpose '{purpose}' is forbidden under the massachusetts "
                "profile (R8).",
                id=f"R8-deny-{purpose}",
            )
            for purpose in (
                Purpose.IMMIGRATION_ENFORCEMENT,
                Purpose.EMOTION_INFERENCE,
                Purpose.PROTECTED_ACTIVITY_MONITORING,
            )
        ],
    ],
)
def test_r8_protected_activity(
    ma_engine: PolicyEngine, make_ctx: Any, attestation: Attestation, reason: str
) -> None:
    expect(ma_engine, make_ctx(Action.SUBMIT, request={"attestation": attestation}), reason)


@pytest.mark.parametrize(
    ("action", "changes", "reason"),
    [
        pytest.param(Action.RUN_SEARCH, {"request": {"max_candidates": 10}}, None, id="R9-allow"),
        pytest.param(Action.RELEASE, {}, None, id="R9-allow-release-with-caveat"),
        pytest.param(
            Action.RUN_SEARCH,
            {"request": {"max_candidates": 25}},
            "Requested candidate list length 25 is outside 1 to 10, the massachusetts "
            "profile's cap (R9).",
            id="R9-deny-list-longer-than-cap",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            {"request": {"max_candidates": 0}},
            "Requested candidate list length 0 is outside 1 to 10, the massachusetts "
            "profile's cap (R9).",
            id="R9-deny-empty-list",
        ),
        pytest.param(
            Action.RELEASE,
            {"release": Release(("c1",), "MATCH FOUND")},
            f"The release must carry the caveat '{CAVEAT}', not 'MATCH FOUND' (R9).",
            id="R9-deny-release-without-caveat",
        ),
        pytest.param(
            Action.RELEASE,
            {"release": None},
            "Nothing to release: the release carries no candidates and no caveat (R9).",
            id="R9-deny-release-missing",
        ),
    ],
)
def test_r9_candidate_list_and_caveat(
    ma_engine: PolicyEngine, make_ctx: Any, action: Action, changes: dict[str, Any], reason: str
) -> None:
    expect(ma_engine, make_ctx(action, **changes), reason)


def _peer(reviewer: str, *marks: tuple[str, ReviewOutcome]) -> Review:
    return Review(reviewer, ReviewStage.PEER, tuple(CandidateMark(c, o) for c, o in marks))


LEAD, NOT_MATCH = ReviewOutcome.POSSIBLE_LEAD, ReviewOutcome.NOT_MATCH


@pytest.mark.parametrize(
    ("action", "changes", "reason"),
    [
        pytest.param(Action.PEER_REVIEW, {}, None, id="R10-allow-second-person-peer-review"),
        pytest.param(Action.RELEASE, {}, None, id="R10-allow-release-after-two-reviews"),
        pytest.param(
            Action.PEER_REVIEW,
            {"actor": {"user_id": "examiner-1"}},
            "User 'examiner-1' did the first review and may not peer-review it (R10).",
            id="R10-deny-first-reviewer-peer-reviews",
        ),
        pytest.param(
            Action.PEER_REVIEW,
            {"actor": {"user_id": "officer-7", "roles": frozenset({Role.EXAMINER})}},
            "User 'officer-7' filed this request and may not review it (R10).",
            id="R10-deny-requester-peer-reviews",
        ),
        pytest.param(
            Action.PEER_REVIEW,
            {"request": {"reviews": ()}},
            "A peer review needs a first review to exist (R10).",
            id="R10-deny-peer-review-without-first",
        ),
        pytest.param(
            Action.RELEASE,
            {"request": {"reviews": (FIRST,)}},
            "Release needs 2 reviews by different people under the massachusetts profile; "
            "this request has 1 (examiner-1) (R10).",
            id="R10-deny-release-after-one-review",
        ),
        pytest.param(
            Action.RELEASE,
            {"request": {"reviews": (FIRST, _peer("examiner-1", ("c1", LEAD)))}},
            "Release needs 2 reviews by different people under the massachusetts profile; "
            "this request has 1 (examiner-1) (R10).",
            id="R10-deny-same-person-reviews-twice",
        ),
        pytest.param(
            Action.RELEASE,
            {
                "request": {"reviews": (FIRST, _peer("examiner-2", ("c1", NOT_MATCH)))},
                "release": Release(("c1",), CAVEAT),
            },
            "Candidate 'c1' was not marked possible_lead by every reviewer (R10).",
            id="R10-deny-release-of-candidate-peer-rejected",
        ),
    ],
)
def test_r10_two_person_review(
    ma_engine: PolicyEngine, make_ctx: Any, action: Action, changes: dict[str, Any], reason: str
) -> None:
    expect(ma_engine, make_ctx(action, **changes), reason)


@pytest.mark.parametrize(
    ("lead", "reason"),
    [
        pytest.param(
            LeadUse("c1", LeadUseKind.ARREST, "witness statement W-12"),
            None,
            id="R11-allow-corroborated-arrest",
        ),
        pytest.param(
            LeadUse("c1", LeadUseKind.FURTHER_INVESTIGATION),
            None,
            id="R11-allow-further-investigation-without-corroboration",
        ),
        *[
            pytest.param(
                LeadUse("c1", use, " "),
                f"Using candidate 'c1' for {use} needs a recorded reference to independent "
                "corroborating evidence; a face search result alone is never enough (R11).",
                id=f"R11-deny-uncorroborated-{use}",
            )
            for use in (LeadUseKind.ARREST, LeadUseKind.WARRANT, LeadUseKind.PHOTO_LINEUP)
        ],
        pytest.param(
            None,
            "The lead use does not say which candidate or what for (R11).",
            id="R11-deny-undescribed-use",
        ),
    ],
)
def test_r11_corroborated_lead(
    ma_engine: PolicyEngine, make_ctx: Any, lead: LeadUse | None, reason: str
) -> None:
    expect(ma_engine, make_ctx(Action.USE_LEAD, lead_use=lead), reason)


@pytest.mark.parametrize(
    ("action", "changes", "requirements"),
    [
        pytest.param(Action.RUN_SEARCH, {}, None, id="R18-allow-no-violation-when-allowed"),
        pytest.param(
            Action.SUBMIT,
            {"request": {"offence_code": "shoplifting"}},
            None,
            id="R18-allow-ordinary-refused-submission-is-no-violation",
        ),
        pytest.param(
            Action.RUN_SEARCH,
            {"actor": {"agency_id": "boston-pd", "agency_kind": AgencyKind.REQUESTING_AGENCY}},
            ("R1", "R18"),
            id="R18-deny-forbidden-search-attempt",
        ),
        pytest.param(
            Action.SUBMIT,
            {"request": {"probe_source": ProbeSource.LIVE_STREAM}},
            ("R7", "R18"),
            id="R18-deny-submission-of-live-stream",
        ),
        pytest.param(
            Action.USE_LEAD,
            {"lead_use": LeadUse("c1", LeadUseKind.ARREST)},
            ("R11", "R18"),
            id="R18-deny-uncorroborated-arrest",
        ),
    ],
)
def test_r18_violation_from_decision(
    ma_engine: PolicyEngine,
    make_ctx: Any,
    action: Action,
    changes: dict[str, Any],
    requirements: tuple[str, ...] | None,
) -> None:
    decision = ma_engine.evaluate(make_ctx(action, **changes))
    violation = violation_from_decision(decision)
    if requirements is None:
        assert violation is None
        return
    assert violation is not None
    assert violation.kind is ViolationKind.FORBIDDEN_ATTEMPT
    assert violation.requirements == requirements
    assert violation.reason == f"Denied {action} attempt: " + " ".join(decision.reasons)
    assert violation.detected_at == NOW
    assert violation.to_dict()["profile"]["sha256"] == decision.profile_sha256


def _emergency_request(request_id: str, basis: Any, make_ctx: Any) -> SearchRequest:
    request: SearchRequest = make_ctx(
        Action.SUBMIT, request={"request_id": request_id, "legal_basis": basis}
    ).request
    return request


@pytest.mark.parametrize(
    ("basis", "kind"),
    [
        pytest.param(EMERGENCY, None, id="R18-allow-filing-pending"),
        pytest.param(REFUSED, None, id="R18-allow-filed-on-time"),
        pytest.param(ORDER, None, id="R18-allow-court-order-needs-no-filing"),
        pytest.param(OVERDUE, ViolationKind.OVERDUE_EMERGENCY_FILING, id="R18-deny-overdue"),
        pytest.param(LATE, ViolationKind.LATE_EMERGENCY_FILING, id="R18-deny-late-filing"),
    ],
)
def test_r18_emergency_filing_violations(
    massachusetts: Profile, make_ctx: Any, basis: Any, kind: ViolationKind | None
) -> None:
    request = _emergency_request("req-9", basis, make_ctx)
    violation = filing_violation(request, NOW, massachusetts)
    overdue = overdue_emergency_filings([request], NOW)
    if kind is None:
        assert violation is None
        assert overdue == ()
        return
    assert violation is not None
    assert violation.kind is kind
    assert violation.requirements == ("R4", "R18")
    assert violation.reason.startswith("Emergency request 'req-9' (case BPD-2024-00123): ")
    assert overdue == ((request,) if kind is ViolationKind.OVERDUE_EMERGENCY_FILING else ())


def test_r18_overdue_filings_picks_only_overdue(make_ctx: Any) -> None:
    requests = [
        _emergency_request(name, basis, make_ctx)
        for name, basis in [("a", EMERGENCY), ("b", OVERDUE), ("c", LATE), ("d", ORDER)]
    ]
    assert [r.request_id for r in overdue_emergency_filings(requests, NOW)] == ["b"]
    # the same pending request becomes overdue once its deadline passes
    later = NOW + 47 * HOUR
    assert [r.request_id for r in overdue_emergency_filings(requests, later)] == ["a", "b"]


def test_evaluation_lists_every_failing_reason(ma_engine: PolicyEngine, make_ctx: Any) -> None:
    ctx = make_ctx(
        Action.RUN_SEARCH,
        request={
            "offence_code": "shoplifting",
            "probe_source": ProbeSource.VIDEO_FRAME,
            "max_candidates": 25,
        },
    )
    decision = ma_engine.evaluate(ctx)
    assert not decision.allowed
    assert [(f.rule_id, f.requirement) for f in decision.failures] == [
        ("offence_allowed", "R6"),
        ("probe_source", "R7"),
        ("candidate_cap", "R9"),
    ]
    assert len(decision.reasons) == 3
    assert decision.requirements == ("R6", "R7", "R9")
