"""Who may use the use cases that take no ``acting`` user (galleries, ledger reading).

The request lifecycle asks the policy engine; these administrative and audit use cases are
gated here instead, by role, with one table that interfaces (API, web) consult and tests read.
A refusal is recorded as a violation (R18) before it is raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from faceledger.errors import PermissionDenied
from faceledger.governance.accounts import UserInfo
from faceledger.governance.context import Role
from faceledger.service.violations import ViolationUseCases

R = Role
CAPABILITIES: Mapping[str, frozenset[Role]] = MappingProxyType(
    {
        "gallery.read": frozenset({R.EXAMINER, R.REVIEWER, R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        "gallery.manage": frozenset({R.SUPERVISOR, R.ADMIN}),
        "ledger.read": frozenset({R.AUDITOR, R.SUPERVISOR, R.ADMIN}),
        "ledger.checkpoint": frozenset({R.AUDITOR, R.ADMIN}),
        "policy.read": frozenset(Role),
        "violations.read": frozenset({R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
        "tokens.manage": frozenset({R.ADMIN}),
    }
)
"""Capability name -> roles that hold it."""


def _phrase(roles: frozenset[Role]) -> str:
    return ", ".join(sorted(r.value for r in roles))


class AccessUseCases(ViolationUseCases):
    """Role checks for the use cases outside the request lifecycle."""

    def require(self, acting: UserInfo, capability: str) -> None:
        """Return if ``acting`` holds ``capability``; else record the attempt and refuse.

        Raises:
            PermissionDenied: naming the roles that may.
            KeyError: for an unknown capability name (a programming error).
        """
        allowed = CAPABILITIES[capability]
        if acting.roles & allowed and acting.active and acting.approved:
            return
        reason = (
            f"{acting.username} may not {capability}: it needs one of the roles {_phrase(allowed)}."
        )
        self.record_denied(acting, capability, reason, ["R1"])
        raise PermissionDenied(reason, capability=capability, roles=sorted(allowed))
