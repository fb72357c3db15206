"""Violations (R18): what a denied decision or a missed emergency filing amounts to.

Pure: the service stores them and alerts supervisors and auditors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from faceledger.governance.context import (
    Action,
    Emergency,
    FilingStatus,
    SearchRequest,
)

if TYPE_CHECKING:
    from faceledger.governance.policy import Decision
    from faceledger.governance.profiles import Profile


class ViolationKind(StrEnum):
    """What kind of violation an alert is about (R18)."""

    DENIED_ACTION = "denied_action"
    """A refused attempt: a role, a scope, a separation of duties or a policy rule said no."""
    FORBIDDEN_ATTEMPT = "forbidden_attempt"
    """A refused attempt that asked for a forbidden input or purpose (R7, R8)."""
    OVERDUE_EMERGENCY_FILING = "overdue_emergency_filing"
    LATE_EMERGENCY_FILING = "late_emergency_filing"


@dataclass(frozen=True)
class Violation:
    """A violation for supervisors and auditors; stored and alerted elsewhere (R18)."""

    kind: ViolationKind
    reason: str
    requirements: tuple[str, ...]
    request_id: str
    actor_id: str | None
    detected_at: dt.datetime
    profile_name: str
    profile_sha256: str

    def to_dict(self) -> dict[str, Any]:
        """Return the violation as ledger-ready data (str, list and None only)."""
        return {
            "kind": str(self.kind),
            "reason": self.reason,
            "requirements": list(self.requirements),
            "request_id": self.request_id,
            "actor_id": self.actor_id,
            "detected_at": self.detected_at.isoformat(),
            "profile": {"name": self.profile_name, "sha256": self.profile_sha256},
        }


FORBIDDEN_USE_REQUIREMENTS = frozenset({"R7", "R8"})
"""Failures that make even a refused submission a violation: forbidden inputs and purposes."""


def violation_from_decision(decision: Decision) -> Violation | None:
    """Return the violation a denied decision amounts to, or ``None``.

    Every denied action is a violation, except a submission refused for ordinary reasons (an
    incomplete or ineligible request is simply denied); a submission that asks for a forbidden
    input or purpose (R7, R8) is one.
    """
    if decision.allowed:
        return None
    failed = {f.requirement for f in decision.failures if f.requirement}
    if decision.action is Action.SUBMIT and not failed & FORBIDDEN_USE_REQUIREMENTS:
        return None
    return Violation(
        kind=ViolationKind.FORBIDDEN_ATTEMPT,
        reason=f"Denied {decision.action} attempt: " + " ".join(decision.reasons),
        requirements=tuple(sorted(failed | {"R18"}, key=_requirement_order)),
        request_id=decision.request_id,
        actor_id=decision.actor_id,
        detected_at=decision.decided_at,
        profile_name=decision.profile_name,
        profile_sha256=decision.profile_sha256,
    )


def _requirement_order(requirement: str) -> tuple[int, str]:
    digits = requirement.lstrip("R")
    return (int(digits), requirement) if digits.isdigit() else (10**6, requirement)


def overdue_emergency_filings(
    requests: Iterable[SearchRequest], now: dt.datetime
) -> tuple[SearchRequest, ...]:
    """Return the emergency requests whose court filing is past its deadline and not made."""
    return tuple(
        r
        for r in requests
        if isinstance(r.legal_basis, Emergency)
        and r.legal_basis.filing_status(now) is FilingStatus.OVERDUE
    )


def filing_violation(
    request: SearchRequest, now: dt.datetime, profile: Profile
) -> Violation | None:
    """Return the violation for an overdue or late emergency filing, or ``None``."""
    basis = request.legal_basis
    if not isinstance(basis, Emergency):
        return None
    status = basis.filing_status(now)
    if status not in {FilingStatus.OVERDUE, FilingStatus.LATE}:
        return None
    kind = (
        ViolationKind.OVERDUE_EMERGENCY_FILING
        if status is FilingStatus.OVERDUE
        else ViolationKind.LATE_EMERGENCY_FILING
    )
    return Violation(
        kind=kind,
        reason=f"Emergency request {request.request_id!r} (case {request.case_number}): "
        f"{basis.sealing_reason(now)} (R4, R18).",
        requirements=("R4", "R18"),
        request_id=request.request_id,
        actor_id=None,
        detected_at=now,
        profile_name=profile.name,
        profile_sha256=profile.sha256,
    )
