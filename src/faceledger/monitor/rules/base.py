"""What every monitor rule is and is handed, and the emergency deadline two rules share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from faceledger.monitor import names
from faceledger.monitor.log import Entry, Ident, PublicLog, RequestHistory, public_time
from faceledger.monitor.profiles import ProfileTimeline
from faceledger.monitor.report import Finding, RuleResult, Unchecked

__all__ = ["Check", "Context", "Deadline", "Rule", "filing_deadline"]


@dataclass(frozen=True)
class Context:
    """What the rules read: the replayed log, the profiles in force over it, and how late a
    scheduled job may run before it counts as not run (``grace``)."""

    log: PublicLog
    profiles: ProfileTimeline
    grace: dt.timedelta


class Check:
    """Collects one rule's findings and "cannot check" notes."""

    def __init__(self, rule: Rule) -> None:
        self._rule = rule
        self.checked = 0
        self._findings: list[Finding] = []
        self._unchecked: list[Unchecked] = []

    def counted(self) -> None:
        """Count one case the rule looked at."""
        self.checked += 1

    def finding(
        self,
        message: str,
        entries: Iterable[Entry],
        request: Ident | None = None,
        people: Iterable[Ident] = (),
    ) -> None:
        """Record a breach shown by ``entries``."""
        self._findings.append(
            Finding(
                self._rule.id,
                self._rule.requirement,
                message,
                _seqs(entries),
                None if request is None else request.value,
                tuple(dict.fromkeys(p.value for p in people)),
            )
        )

    def unchecked(
        self, message: str, entries: Iterable[Entry], request: Ident | None = None
    ) -> None:
        """Record that something could not be checked from the public log."""
        self._unchecked.append(
            Unchecked(
                self._rule.id, message, _seqs(entries), None if request is None else request.value
            )
        )

    def result(self) -> RuleResult:
        """The rule's outcome."""
        return RuleResult(
            self._rule.id,
            self._rule.requirement,
            self._rule.description,
            self.checked,
            tuple(self._findings),
            tuple(self._unchecked),
        )


class Rule(Protocol):
    """A rule an outsider can check from the public log alone."""

    id: str
    requirement: str
    description: str

    def check(self, ctx: Context, out: Check) -> None:
        """Look at the whole log; record every finding and everything not checkable in
        ``out``."""


@dataclass(frozen=True)
class Deadline:
    """When an approved emergency's court statement is due.

    ``known`` is False when the log does not say (no approval, or neither the unit's deadline
    nor the profile's hours are recorded); ``at`` None with ``known`` means no deadline applies.
    ``approval`` is the entry that started the clock.
    """

    known: bool
    at: dt.datetime | None
    approval: Entry | None
    why: str


def filing_deadline(history: RequestHistory, ctx: Context) -> Deadline:
    """The statement deadline of an emergency: the earlier of the deadline the unit set
    (``filing_due`` of the approval) and the approval time plus the ``emergency_filing_hours``
    of the profile in force at the approval."""
    approval = history.first(names.APPROVE_EMERGENCY)
    if approval is None:
        return Deadline(False, None, None, "the emergency's approval is not in the log")
    due = public_time(approval.public, "filing_due")
    profile = ctx.profiles.at(approval.seq)
    known_hours, hours = profile.filing_hours() if profile else (False, None)
    if not known_hours:
        if due is not None:
            return Deadline(True, due, approval, f"the unit's deadline {due.isoformat()}")
        return Deadline(
            False,
            None,
            approval,
            "neither the unit's deadline nor the profile's filing hours are in the log",
        )
    if hours is None:
        # The profile sets no deadline; one the unit set anyway still binds it.
        if due is None:
            return Deadline(True, None, approval, "the profile sets no filing deadline")
        return Deadline(True, due, approval, f"the unit's deadline {due.isoformat()}")
    by_profile = approval.ts + dt.timedelta(hours=hours)
    if due is not None and due < by_profile:
        return Deadline(True, due, approval, f"the unit's deadline {due.isoformat()}")
    return Deadline(
        True,
        by_profile,
        approval,
        f"{hours} h after the approval at seq {approval.seq} ({by_profile.isoformat()})",
    )


def _seqs(entries: Iterable[Entry]) -> tuple[int, ...]:
    return tuple(sorted({e.seq for e in entries}))
