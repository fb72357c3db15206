"""What the monitor found: findings and "cannot check" notes per rule, and the whole report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from faceledger.ledger.checks import VerifyReport
from faceledger.monitor.profiles import ProfileInForce

__all__ = ["EXIT_BREACH", "EXIT_OK", "Finding", "MonitorReport", "RuleResult", "Unchecked"]

EXIT_OK = 0
EXIT_BREACH = 2


@dataclass(frozen=True)
class Finding:
    """A breach of a rule: what happened, the entries that show it, and the request and
    people involved (pseudonyms, or names in entries written before envelope version 3)."""

    rule: str
    requirement: str
    message: str
    seqs: tuple[int, ...]
    request: str | None = None
    people: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data."""
        return {
            "rule": self.rule,
            "requirement": self.requirement,
            "message": self.message,
            "seqs": list(self.seqs),
            "request": self.request,
            "people": list(self.people),
        }


@dataclass(frozen=True)
class Unchecked:
    """Something a rule could not check because the public log does not carry what it needs
    (never counted as a pass)."""

    rule: str
    message: str
    seqs: tuple[int, ...]
    request: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The note as JSON-ready data."""
        return {
            "rule": self.rule,
            "message": self.message,
            "seqs": list(self.seqs),
            "request": self.request,
        }


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome over the log: how many cases it checked, its findings and what it
    could not check."""

    rule: str
    requirement: str
    description: str
    checked: int
    findings: tuple[Finding, ...]
    unchecked: tuple[Unchecked, ...]

    @property
    def status(self) -> str:
        """``breach`` with findings, else ``cannot check`` if something was not checkable,
        else ``ok``."""
        if self.findings:
            return "breach"
        return "cannot check" if self.unchecked else "ok"

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "rule": self.rule,
            "requirement": self.requirement,
            "description": self.description,
            "status": self.status,
            "checked": self.checked,
            "findings": [f.to_dict() for f in self.findings],
            "unchecked": [u.to_dict() for u in self.unchecked],
        }


@dataclass(frozen=True)
class MonitorReport:
    """The monitor's report on one verified public log."""

    verified: VerifyReport
    results: tuple[RuleResult, ...]
    entries: int
    named_seqs: tuple[int, ...]
    """Seqs of the entries written before envelope version 3 (they name people in clear)."""
    profiles: tuple[ProfileInForce, ...]
    grace: dt.timedelta
    last_ts: dt.datetime | None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding of every rule, in rule order."""
        return tuple(f for r in self.results for f in r.findings)

    @property
    def unchecked(self) -> tuple[Unchecked, ...]:
        """Everything no rule could check."""
        return tuple(u for r in self.results for u in r.unchecked)

    @property
    def ok(self) -> bool:
        """True when no rule found a breach."""
        return not self.findings

    def exit_code(self, strict: bool = False) -> int:
        """0 when every rule holds, 2 with findings (and, if ``strict``, with anything that
        could not be checked)."""
        if self.findings or (strict and self.unchecked):
            return EXIT_BREACH
        return EXIT_OK

    def named_note(self) -> str | None:
        """The warning that some entries name people and requests in clear, or None."""
        if not self.named_seqs:
            return None
        first, last = self.named_seqs[0], self.named_seqs[-1]
        span = f"seq {first}" if first == last else f"seqs {first}-{last}"
        return (
            f"{len(self.named_seqs)} entries ({span}) were written before ledger envelope "
            "version 3: they name people and requests in clear, and cannot be joined to the "
            "pseudonyms of later entries."
        )

    def to_dict(self, profile_history: bool = False) -> dict[str, Any]:
        """The report as JSON-ready data; ``profile_history`` adds the profiles in force."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "verified": {**self.verified.__dict__, "summary": self.verified.summary()},
            "entries": self.entries,
            "last_entry_ts": self.last_ts.isoformat() if self.last_ts else None,
            "grace_hours": self.grace.total_seconds() / 3600,
            "rules": [r.to_dict() for r in self.results],
            "findings": len(self.findings),
            "unchecked": len(self.unchecked),
            "named_entries": len(self.named_seqs),
            "named_note": self.named_note(),
        }
        if profile_history:
            data["profiles"] = [p.to_dict() for p in self.profiles]
        return data
