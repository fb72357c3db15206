"""The request state machine: every legal transition works, every other one is a Conflict."""

from __future__ import annotations

import itertools

import pytest

from faceledger.errors import Conflict, InvalidInput
from faceledger.governance import FINAL_STATES, TRANSITIONS, Event, State, allowed_events
from faceledger.governance import transition as move

S, E = State, Event
# Written out from DESIGN.md "The search lifecycle", independently of TRANSITIONS.
LEGAL = {
    (S.DRAFT, E.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, E.APPROVE): S.APPROVED,
    (S.SUBMITTED, E.APPROVE_EMERGENCY): S.APPROVED_EMERGENCY,
    (S.SUBMITTED, E.DENY): S.DENIED,
    (S.APPROVED, E.RUN_SEARCH): S.SEARCHED,
    (S.APPROVED_EMERGENCY, E.RUN_SEARCH): S.SEARCHED,
    (S.SEARCHED, E.FIRST_REVIEW): S.REVIEWED,
    (S.REVIEWED, E.PEER_REVIEW): S.PEER_REVIEWED,
    (S.PEER_REVIEWED, E.RELEASE): S.RELEASED,
    (S.SEARCHED, E.CLOSE_NO_LEAD): S.NO_LEAD,
    (S.REVIEWED, E.CLOSE_NO_LEAD): S.NO_LEAD,
    (S.PEER_REVIEWED, E.CLOSE_NO_LEAD): S.NO_LEAD,
    (S.APPROVED_EMERGENCY, E.SEAL): S.SEALED,
    (S.SEARCHED, E.SEAL): S.SEALED,
    (S.REVIEWED, E.SEAL): S.SEALED,
    (S.PEER_REVIEWED, E.SEAL): S.SEALED,
    (S.RELEASED, E.SEAL): S.SEALED,
    (S.NO_LEAD, E.SEAL): S.SEALED,
}
ILLEGAL = [pair for pair in itertools.product(State, Event) if pair not in LEGAL]


def test_table_matches_the_design() -> None:
    declared = {(s, e): t for s, events in TRANSITIONS.items() for e, t in events.items()}
    assert declared == LEGAL
    assert set(TRANSITIONS) == set(State)
    assert {S.DENIED, S.SEALED} == FINAL_STATES


@pytest.mark.parametrize(
    ("state", "event", "target"),
    [pytest.param(s, e, t, id=f"{s}-{e}") for (s, e), t in LEGAL.items()],
)
def test_legal_transition(state: State, event: Event, target: State) -> None:
    assert move(state, event) is target
    assert move(str(state), str(event)) is target  # plain names from storage work too


@pytest.mark.parametrize(
    ("state", "event"), [pytest.param(s, e, id=f"{s}-{e}") for s, e in ILLEGAL]
)
def test_illegal_transition_is_a_conflict(state: State, event: Event) -> None:
    with pytest.raises(Conflict) as caught:
        move(state, event)
    message = caught.value.message
    assert f"state '{state}'" in message and f"event '{event}'" in message
    allowed = [str(e) for e in TRANSITIONS[state]]
    assert caught.value.details == {"state": state, "event": event, "allowed_events": allowed}
    assert (", ".join(allowed) if allowed else "none (it is final)") in message
    assert caught.value.status == 409


def test_conflict_message_reads_well() -> None:
    with pytest.raises(Conflict) as caught:
        move(S.APPROVED, E.RELEASE)
    assert caught.value.message == (
        "A request in state 'approved' cannot take the event 'release'; events allowed from "
        "'approved': run_search."
    )


@pytest.mark.parametrize(("state", "event"), [("drafted", "submit"), ("draft", "publish")])
def test_unknown_names_are_invalid_input(state: str, event: str) -> None:
    with pytest.raises(InvalidInput, match="is not a lifecycle"):
        move(state, event)


def test_happy_paths() -> None:
    for path, end in [
        ([E.SUBMIT, E.APPROVE, E.RUN_SEARCH, E.FIRST_REVIEW, E.PEER_REVIEW, E.RELEASE], S.RELEASED),
        ([E.SUBMIT, E.APPROVE_EMERGENCY, E.RUN_SEARCH, E.SEAL], S.SEALED),
        ([E.SUBMIT, E.APPROVE, E.RUN_SEARCH, E.CLOSE_NO_LEAD], S.NO_LEAD),
        ([E.SUBMIT, E.DENY], S.DENIED),
    ]:
        state = S.DRAFT
        for event in path:
            state = move(state, event)
        assert state is end
    assert allowed_events(S.SUBMITTED) == (E.APPROVE, E.APPROVE_EMERGENCY, E.DENY)
