"""The policy engine: evaluate every applicable rule, deny by default, keep every reason.

A :class:`Decision` is data (DESIGN.md principle 2): allow/deny, the profile name and hash, and
one :class:`Failure` (rule id, requirement, sentence) per failing rule. An action that no rule
of the profile governs is denied, as sigstore's ``AllOf([])`` fails rather than passing
vacuously. Under a profile marked ``unsafe`` (the ``lab`` profile) the engine warns with
:class:`UnsafeProfileWarning` when built, and every decision carries the
``UNSAFE_LAB_PROFILE`` flag and banner, which callers must display and record.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from faceledger.errors import PolicyDenied
from faceledger.governance.context import Action, PolicyContext
from faceledger.governance.profiles import UNSAFE_LAB_PROFILE, Profile
from faceledger.governance.rules import build_rules

DENY_BY_DEFAULT = "deny_by_default"
"""Rule id of the failure recorded when no rule governs the attempted action."""


class UnsafeProfileWarning(UserWarning):
    """A policy engine was built on a profile marked unsafe (the ``lab`` profile)."""


@runtime_checkable
class Rule(Protocol):
    """A policy rule: which actions it governs and a check that returns a reason on failure."""

    @property
    def id(self) -> str:
        """Stable rule id, as named in profiles (e.g. ``offence_allowed``)."""

    @property
    def requirement(self) -> str:
        """The REQUIREMENTS.md id it enforces (e.g. ``R6``)."""

    @property
    def applies_to(self) -> frozenset[Action]:
        """The actions this rule is checked for."""

    def check(self, ctx: PolicyContext) -> str | None:
        """Return ``None`` if the rule passes, else one sentence saying why it fails."""


class Failure(NamedTuple):
    """One failing rule of a decision."""

    rule_id: str
    requirement: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """The outcome of one evaluation. ``allowed`` is true exactly when ``failures`` is empty.

    Raises:
        ValueError: if built with ``allowed`` contradicting ``failures``.
    """

    allowed: bool
    action: Action
    request_id: str
    actor_id: str
    decided_at: dt.datetime
    profile_name: str
    profile_sha256: str
    rules_checked: tuple[str, ...]
    failures: tuple[Failure, ...] = ()
    unsafe: bool = False
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.allowed == bool(self.failures):
            raise ValueError("A decision is allowed exactly when it has no failures.")

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every failure's sentence, in rule order."""
        return tuple(f.reason for f in self.failures)

    @property
    def requirements(self) -> tuple[str, ...]:
        """The requirement ids that failed, each once, in rule order."""
        return tuple(dict.fromkeys(f.requirement for f in self.failures if f.requirement))

    @property
    def flags(self) -> tuple[str, ...]:
        """Machine-readable markers, e.g. ``("UNSAFE_LAB_PROFILE",)``."""
        return (UNSAFE_LAB_PROFILE,) if self.unsafe else ()

    def to_dict(self) -> dict[str, Any]:
        """Return the decision as ledger-ready data: str, int, bool, list and dict only."""
        return {
            "allowed": self.allowed,
            "action": str(self.action),
            "request_id": self.request_id,
            "actor_id": self.actor_id,
            "decided_at": self.decided_at.isoformat(),
            "profile": {"name": self.profile_name, "sha256": self.profile_sha256},
            "rules_checked": list(self.rules_checked),
            "failures": [
                {"rule_id": f.rule_id, "requirement": f.requirement, "reason": f.reason}
                for f in self.failures
            ],
            "flags": list(self.flags),
            "warnings": list(self.warnings),
        }

    def raise_for_denial(self) -> None:
        """Return if allowed.

        Raises:
            PolicyDenied: listing every reason and requirement, if denied.
        """
        if not self.allowed:
            raise self.denial()

    def denial(self) -> PolicyDenied:
        """Return the error of this (denied) decision, listing every reason and requirement."""
        return PolicyDenied(
            f"The {self.profile_name} profile denies {self.action}: " + " ".join(self.reasons),
            reasons=list(self.reasons),
            requirements=list(self.requirements),
            rules=[f.rule_id for f in self.failures],
            profile=self.profile_name,
            profile_sha256=self.profile_sha256,
        )


class PolicyEngine:
    """Evaluates a context against the rules of one profile."""

    def __init__(self, profile: Profile, rules: Sequence[Rule] | None = None) -> None:
        """Build the engine on ``profile``'s rules, or on ``rules`` if given.

        Warns:
            UnsafeProfileWarning: if the profile is marked unsafe.

        Raises:
            ConfigError: if the profile names a rule that cannot be built.
        """
        self.profile = profile
        self.rules: tuple[Rule, ...] = tuple(build_rules(profile) if rules is None else rules)
        if profile.unsafe:
            warnings.warn(profile.unsafe_banner, UnsafeProfileWarning, stacklevel=2)

    def evaluate(self, ctx: PolicyContext) -> Decision:
        """Check every rule that applies to ``ctx.action`` and return the decision.

        Every failing rule contributes one :class:`Failure`; none is skipped after the first.
        If no rule applies, the action is denied by default.
        """
        applicable = [rule for rule in self.rules if ctx.action in rule.applies_to]
        failures: list[Failure] = []
        if not applicable:
            failures.append(
                Failure(
                    DENY_BY_DEFAULT,
                    "",
                    f"No rule of the {self.profile.name} profile governs the action "
                    f"{str(ctx.action)!r}, so it is denied by default.",
                )
            )
        for rule in applicable:
            reason = rule.check(ctx)
            if reason is not None:
                failures.append(Failure(rule.id, rule.requirement, reason))
        return Decision(
            allowed=not failures,
            action=ctx.action,
            request_id=ctx.request.request_id,
            actor_id=ctx.actor.user_id,
            decided_at=ctx.now,
            profile_name=self.profile.name,
            profile_sha256=self.profile.sha256,
            rules_checked=tuple(rule.id for rule in applicable),
            failures=tuple(failures),
            unsafe=self.profile.unsafe,
            warnings=(self.profile.unsafe_banner,) if self.profile.unsafe else (),
        )
