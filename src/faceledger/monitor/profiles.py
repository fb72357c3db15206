"""The policy profiles in force over time, as the public log records them.

Every ``policy.profile_set`` entry makes a profile active; its public fields name the profile,
its SHA-256, the proposal it came from and the parameters the rules check against (see
``faceledger.service.public_record``). The profile in force at an entry is the one set by the
last ``policy.profile_set`` before it. An entry written before these fields existed names no
parameters: each accessor then returns None, and a rule that needs the value cannot check.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faceledger.monitor import names
from faceledger.monitor.log import Entry, PublicLog

__all__ = ["ProfileInForce", "ProfileTimeline"]

PARAMETERS = (
    "legal_bases",
    "offence_classes",
    "emergency_filing_hours",
    "required_reviews",
    "probe_days",
    "result_days",
    "audit_log_min_days",
)
"""The profile parameters the public log carries, in the order the history shows them."""


@dataclass(frozen=True)
class ProfileInForce:
    """One profile change: the entry that made it, and the profile's public fields."""

    entry: Entry

    @property
    def public(self) -> Mapping[str, Any]:
        """The change's public fields."""
        return self.entry.public

    @property
    def name(self) -> str | None:
        """The profile's name (None if the entry does not say)."""
        value = self.public.get("profile")
        return value if isinstance(value, str) else None

    @property
    def sha256(self) -> str | None:
        """The profile's SHA-256 (None if the entry does not say)."""
        value = self.public.get("profile_sha256")
        return value if isinstance(value, str) else None

    @property
    def proposal(self) -> int | None:
        """The number of the proposal this change approved (None for none)."""
        return _integer(self.public.get("proposal"))

    def allowed(self, parameter: str) -> frozenset[str] | None:
        """The kinds a list parameter (``legal_bases``, ``offence_classes``) allows, or None
        if the entry does not say."""
        value = self.public.get(parameter)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        return frozenset(value)

    def runs(self, rule_id: str) -> bool:
        """Whether the profile runs rule ``rule_id``; True when the entry does not list its
        rules (assume the limit applies, so that a rule is never skipped unseen)."""
        rules = self.allowed("rules")
        return rules is None or rule_id in rules

    def number(self, parameter: str) -> int | None:
        """A whole-number parameter (days, hours, reviews), or None if the entry does not
        say."""
        return _integer(self.public.get(parameter))

    def filing_hours(self) -> tuple[bool, int | None]:
        """Whether the entry names the emergency filing deadline, and its hours (None: the
        profile sets no deadline)."""
        if "emergency_filing_hours" not in self.public:
            return False, None
        hours = self.public["emergency_filing_hours"]
        if hours is None:
            return True, None
        value = _integer(hours)
        return value is not None, value

    def to_dict(self) -> dict[str, Any]:
        """The change as the profile history shows it."""
        return {
            "seq": self.entry.seq,
            "ts": self.entry.ts.isoformat(),
            "profile": self.name,
            "sha256": self.sha256,
            "proposal": self.proposal,
            **{p: _shown(self.public.get(p, "?")) for p in PARAMETERS},
        }


class ProfileTimeline:
    """The profile changes of a log, in ``seq`` order, and which was in force when."""

    def __init__(self, changes: Sequence[ProfileInForce]) -> None:
        self.changes = tuple(changes)
        self._seqs = [c.entry.seq for c in self.changes]

    @classmethod
    def of(cls, log: PublicLog) -> ProfileTimeline:
        """The timeline of ``log``'s ``policy.profile_set`` entries."""
        return cls([ProfileInForce(e) for e in log.of(names.PROFILE_SET)])

    def at(self, seq: int) -> ProfileInForce | None:
        """The profile in force when entry ``seq`` was written (set by an earlier entry), or
        None if none was set before it."""
        index = bisect.bisect_left(self._seqs, seq)
        return self.changes[index - 1] if index else None

    def latest(self) -> ProfileInForce | None:
        """The profile in force at the end of the log."""
        return self.changes[-1] if self.changes else None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shown(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value
