"""Factories for policy contexts that pass every massachusetts rule unless a test changes them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from faceledger.governance import (
    Action,
    Actor,
    AgencyKind,
    Attestation,
    CandidateMark,
    CourtOrder,
    LeadUse,
    LeadUseKind,
    PolicyContext,
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
    load_profile,
)

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
CAVEAT = "investigative lead only — not probable cause for arrest"

REQUESTER = Actor(
    user_id="officer-7",
    roles=frozenset({Role.REQUESTER}),
    agency_id="boston-pd",
    agency_kind=AgencyKind.REQUESTING_AGENCY,
    account_approved=True,
    active=True,
)
EXAMINER = Actor(
    user_id="examiner-1",
    roles=frozenset({Role.EXAMINER}),
    agency_id="ma-state-police",
    agency_kind=AgencyKind.OPERATING_UNIT,
    account_approved=True,
    active=True,
    training_certified_until=dt.date(2024, 12, 31),
)
PEER = dataclasses.replace(EXAMINER, user_id="examiner-2", roles=frozenset({Role.REVIEWER}))
SUPERVISOR = dataclasses.replace(
    REQUESTER, user_id="sergeant-3", roles=frozenset({Role.SUPERVISOR})
)

ACTORS: dict[Action, Actor] = {
    Action.SUBMIT: REQUESTER,
    Action.APPROVE_EMERGENCY: SUPERVISOR,
    Action.RUN_SEARCH: EXAMINER,
    Action.FIRST_REVIEW: EXAMINER,
    Action.PEER_REVIEW: PEER,
    Action.RELEASE: EXAMINER,
    Action.CLOSE_NO_LEAD: EXAMINER,
    Action.USE_LEAD: REQUESTER,
    Action.FILE_EMERGENCY_STATEMENT: REQUESTER,
    Action.SEAL: SUPERVISOR,
}

FIRST_REVIEW = Review(
    "examiner-1", ReviewStage.FIRST, (CandidateMark("c1", ReviewOutcome.POSSIBLE_LEAD),)
)
PEER_REVIEW = Review(
    "examiner-2", ReviewStage.PEER, (CandidateMark("c1", ReviewOutcome.POSSIBLE_LEAD),)
)

REQUEST = SearchRequest(
    request_id="req-1",
    requester_id="officer-7",
    requesting_agency_id="boston-pd",
    case_number="BPD-2024-00123",
    offence_code="armed_robbery",
    narrative="Armed robbery of a pharmacy on 2024-05-30; suspect caught on a still photo.",
    legal_basis=CourtOrder(
        court="Suffolk Superior Court",
        order_id="SUCR2024-0042",
        judge="Hon. A. Justice",
        issued_on=dt.date(2024, 5, 31),
        expires_on=dt.date(2024, 6, 30),
    ),
    probe_source=ProbeSource.STILL_PHOTO,
    attestation=Attestation(
        attested=True,
        text="The subject is sought as the robbery suspect, not for any protected activity.",
        purpose=Purpose.CRIMINAL_INVESTIGATION,
    ),
    galleries=("booking-photos",),
    max_candidates=10,
    operator_id="examiner-1",
    reviews=(FIRST_REVIEW, PEER_REVIEW),
)

MakeCtx = Callable[..., PolicyContext]


def make_context(
    action: Action,
    *,
    actor: dict[str, Any] | Actor | None = None,
    request: dict[str, Any] | None = None,
    **fields: Any,
) -> PolicyContext:
    """Build a context for ``action`` that passes massachusetts; change parts with dicts."""
    base_actor = ACTORS[action]
    if isinstance(actor, Actor):
        base_actor = actor
    elif actor:
        base_actor = dataclasses.replace(base_actor, **actor)
    base_request = REQUEST
    if action is Action.PEER_REVIEW:
        base_request = dataclasses.replace(REQUEST, reviews=(FIRST_REVIEW,))
    values: dict[str, Any] = {
        "action": action,
        "actor": base_actor,
        "request": dataclasses.replace(base_request, **(request or {})),
        "now": NOW,
        "release": Release(("c1",), CAVEAT) if action is Action.RELEASE else None,
        "lead_use": LeadUse("c1", LeadUseKind.ARREST, "witness statement W-12")
        if action is Action.USE_LEAD
        else None,
    }
    values.update(fields)
    return PolicyContext(**values)


@pytest.fixture(scope="session")
def massachusetts() -> Profile:
    """The shipped massachusetts profile."""
    return load_profile("massachusetts")


@pytest.fixture(scope="session")
def ma_engine(massachusetts: Profile) -> PolicyEngine:
    """A policy engine on the massachusetts profile."""
    return PolicyEngine(massachusetts)


@pytest.fixture
def make_ctx() -> MakeCtx:
    """The :func:`make_context` factory."""
    return make_context
