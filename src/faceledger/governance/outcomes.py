"""A request's outcome (R12, R17), as the case moves on.

The outcome only moves forward along :data:`~faceledger.governance.context.OUTCOME_ORDER`: a
lifecycle step sets where the search itself ended (denied, no lead, lead), and each recorded use
of a released lead (R11) moves it to the furthest use so far.
"""

from __future__ import annotations

from faceledger.governance.context import OUTCOME_ORDER, LeadUseKind, Outcome
from faceledger.governance.lifecycle import Event

_BY_EVENT = {
    Event.DENY: Outcome.DENIED,
    Event.CLOSE_NO_LEAD: Outcome.NO_LEAD,
    Event.SEAL: Outcome.NO_LEAD,
    Event.RELEASE: Outcome.LEAD,
}
_BY_USE = {
    LeadUseKind.FURTHER_INVESTIGATION: Outcome.FURTHER_INVESTIGATION,
    LeadUseKind.PHOTO_LINEUP: Outcome.PHOTO_LINEUP,
    LeadUseKind.WARRANT: Outcome.WARRANT,
    LeadUseKind.ARREST: Outcome.ARREST,
}


def after_event(current: Outcome, event: Event) -> Outcome:
    """The outcome once ``event`` has moved the request (unchanged for other events).

    Sealing ends a request with no lead whatever was released before it (R4: its results are
    deleted)."""
    reached = _BY_EVENT.get(event)
    if reached is None:
        return current
    if event is Event.SEAL:
        return reached
    return furthest(current, reached)


def after_use(current: Outcome, use: LeadUseKind) -> Outcome:
    """The outcome once a released lead was used for ``use``."""
    return furthest(current, _BY_USE[use])


def furthest(a: Outcome, b: Outcome) -> Outcome:
    """The further along of two outcomes."""
    return a if OUTCOME_ORDER.index(a) >= OUTCOME_ORDER.index(b) else b
