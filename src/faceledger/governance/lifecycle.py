"""The search request lifecycle of DESIGN.md as explicit data.

::

    draft -> submitted -> approved | approved_emergency | denied
    approved | approved_emergency -> searched -> reviewed -> peer_reviewed -> released
    searched | reviewed | peer_reviewed -> no_lead
    approved_emergency | searched | reviewed | peer_reviewed | released | no_lead -> sealed

``approve`` and ``deny`` follow the policy decision on the ``submit`` action;
``approve_emergency`` follows a supervisor's own allowed decision. The court filing of an
emergency runs beside this path, so ``seal`` can interrupt any state after approval: the state
machine only knows which states can be sealed, and the ``emergency_filing`` rule (R4) decides
whether this request may be (an emergency whose filing was refused, late or overdue).
``denied`` and ``sealed`` are final; so are ``released`` and ``no_lead`` except for sealing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from faceledger.errors import Conflict, InvalidInput

_T = TypeVar("_T", bound=StrEnum)


class State(StrEnum):
    """Where a search request is."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    APPROVED_EMERGENCY = "approved_emergency"
    DENIED = "denied"
    SEARCHED = "searched"
    REVIEWED = "reviewed"
    PEER_REVIEWED = "peer_reviewed"
    RELEASED = "released"
    NO_LEAD = "no_lead"
    SEALED = "sealed"


class Event(StrEnum):
    """What moves a request on. Events named like a policy ``Action`` need that action allowed."""

    SUBMIT = "submit"
    APPROVE = "approve"
    APPROVE_EMERGENCY = "approve_emergency"
    DENY = "deny"
    RUN_SEARCH = "run_search"
    FIRST_REVIEW = "first_review"
    PEER_REVIEW = "peer_review"
    RELEASE = "release"
    CLOSE_NO_LEAD = "close_no_lead"
    SEAL = "seal"


S, E = State, Event
TRANSITIONS: Mapping[State, Mapping[Event, State]] = MappingProxyType(
    {
        S.DRAFT: {E.SUBMIT: S.SUBMITTED},
        S.SUBMITTED: {
            E.APPROVE: S.APPROVED,
            E.APPROVE_EMERGENCY: S.APPROVED_EMERGENCY,
            E.DENY: S.DENIED,
        },
        S.APPROVED: {E.RUN_SEARCH: S.SEARCHED},
        S.APPROVED_EMERGENCY: {E.RUN_SEARCH: S.SEARCHED, E.SEAL: S.SEALED},
        S.SEARCHED: {E.FIRST_REVIEW: S.REVIEWED, E.CLOSE_NO_LEAD: S.NO_LEAD, E.SEAL: S.SEALED},
        S.REVIEWED: {E.PEER_REVIEW: S.PEER_REVIEWED, E.CLOSE_NO_LEAD: S.NO_LEAD, E.SEAL: S.SEALED},
        S.PEER_REVIEWED: {E.RELEASE: S.RELEASED, E.CLOSE_NO_LEAD: S.NO_LEAD, E.SEAL: S.SEALED},
        S.RELEASED: {E.SEAL: S.SEALED},
        S.NO_LEAD: {E.SEAL: S.SEALED},
        S.DENIED: {},
        S.SEALED: {},
    }
)
"""For each state, the events it accepts and the state each leads to."""
del S, E

FINAL_STATES = frozenset(state for state, events in TRANSITIONS.items() if not events)


def allowed_events(state: State | str) -> tuple[Event, ...]:
    """Return the events ``state`` accepts, in declaration order.

    Raises:
        InvalidInput: if ``state`` is not a lifecycle state.
    """
    return tuple(TRANSITIONS[_parse(State, state, "state")])


def transition(current: State | str, event: Event | str) -> State:
    """Return the state that ``event`` leads to from ``current``.

    Raises:
        InvalidInput: if ``current`` or ``event`` is not a known name.
        Conflict: if ``current`` does not accept ``event``; names both and the allowed events.
    """
    state, ev = _parse(State, current, "state"), _parse(Event, event, "event")
    targets = TRANSITIONS[state]
    if ev not in targets:
        accepted = ", ".join(targets) or "none (it is final)"
        raise Conflict(
            f"A request in state {str(state)!r} cannot take the event {str(ev)!r}; "
            f"events allowed from {str(state)!r}: {accepted}.",
            state=str(state),
            event=str(ev),
            allowed_events=[str(e) for e in targets],
        )
    return targets[ev]


def _parse(kind: type[_T], value: _T | str, what: str) -> _T:
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not a lifecycle {what}; known: {', '.join(kind)}.", **{what: value}
        ) from None
