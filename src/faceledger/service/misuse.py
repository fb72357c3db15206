"""Misuse analytics (R18): scans of the records, the findings they store, and their alerts.

:meth:`MisuseUseCases.scan` reads the requests filed within the profile's window, runs the
rules of :mod:`faceledger.reports.misuse` with the profile's thresholds, and stores each new
finding with its ledger entry and its alert, all in one transaction. A finding is known by its
fingerprint (rule, requests, key), so scanning again stores nothing twice; nor is a finding
stored again whose requests all belong to a stored finding of the same rule and key (the same
pattern, some of whose requests have since left the window). A pattern that grew is new
evidence and is stored as a new finding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import InvalidInput
from faceledger.governance.accounts import Principal
from faceledger.reports.misuse import Finding, MisuseRule, scan, window_start
from faceledger.reports.misuse.source import read_records
from faceledger.reports.models import MisuseFindingRow
from faceledger.service.access import Access
from faceledger.service.alert_inbox import AlertInbox
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.paging import check_page
from faceledger.service.policy import PolicyStore

ACTION = "report.misuse"
_RULES = ", ".join(r.value for r in MisuseRule)


@dataclass(frozen=True)
class FindingView:
    """A stored misuse finding, as supervisors and auditors see it."""

    id: int
    rule: str
    title: str
    explanation: str
    request_ids: tuple[int, ...]
    details: dict[str, Any]
    fingerprint: str
    created_at: str
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as JSON-ready data."""
        return {**self.__dict__, "request_ids": list(self.request_ids)}


@dataclass(frozen=True)
class ScanResult:
    """What one scan did: the findings it stored (new ones only), how many it found in all
    (stored before included), how many findings are stored now, and what it read."""

    new: tuple[FindingView, ...]
    found: int
    total: int
    records: int
    window_days: int
    window_start: str
    profile: str
    scanned_at: str

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {**self.__dict__, "new": [f.to_dict() for f in self.new]}


def _view(row: MisuseFindingRow) -> FindingView:
    return FindingView(
        id=row.id,
        rule=row.rule,
        title=row.title,
        explanation=row.explanation,
        request_ids=tuple(row.request_ids),
        details=dict(row.details),
        fingerprint=row.fingerprint,
        created_at=row.created_at.isoformat(),
        ledger_seq=row.ledger_seq,
    )


class _Stored:
    """The findings stored so far: their fingerprints, and request sets by rule and key."""

    def __init__(self, session: Session, since: dt.datetime) -> None:
        self.fingerprints: set[str] = set()
        self.requests: dict[tuple[str, str], list[frozenset[int]]] = {}
        # A finding stored before the window began holds only requests filed before it, which
        # no finding of this scan can hold: such findings need not be read.
        query = select(
            MisuseFindingRow.rule,
            MisuseFindingRow.fingerprint,
            MisuseFindingRow.request_ids,
            MisuseFindingRow.details,
        ).where(MisuseFindingRow.created_at >= since)
        for rule, fingerprint, request_ids, details in session.execute(query):
            self.add(rule, str((details or {}).get("key", "")), fingerprint, request_ids)

    def add(self, rule: str, key: str, fingerprint: str, request_ids: list[int]) -> None:
        """Remember one stored finding."""
        self.fingerprints.add(fingerprint)
        self.requests.setdefault((rule, key), []).append(frozenset(request_ids))

    def known(self, finding: Finding) -> bool:
        """Whether ``finding`` is stored already, or is a part of a stored one."""
        if finding.fingerprint in self.fingerprints:
            return True
        ids = frozenset(finding.request_ids)
        return any(ids <= stored for stored in self.requests.get((finding.rule, finding.key), []))


def check_rule(rule: str | None) -> None:
    """Return if ``rule`` is None or the name of a misuse rule.

    Raises:
        InvalidInput: naming the rules, otherwise.
    """
    if rule is not None and rule not in {r.value for r in MisuseRule}:
        raise InvalidInput(
            f"There is no misuse rule {rule!r}; the rules are {_RULES}.", field="rule"
        )


class MisuseUseCases:
    """Misuse analytics (R18): scanning the records, listing the stored findings."""

    def __init__(
        self, ctx: ServiceContext, access: Access, policy: PolicyStore, inbox: AlertInbox
    ) -> None:
        self._ctx, self._access, self._policy, self._inbox = ctx, access, policy, inbox

    def scan(self, acting: Principal) -> ScanResult:
        """Scan the requests filed within the profile's ``misuse.window_days`` and store each
        new finding with its ``misuse.finding`` ledger entry and its alert (one transaction).

        Supervisors and auditors may scan, and the local operator (the scheduled job).

        Raises:
            PermissionDenied: without ``report.misuse`` (recorded).
        """
        now = utcnow()
        with self._access.transaction(acting, ACTION, write=False) as (session, _):
            profile = self._policy.profile(session)
            policy = profile.misuse
            since = window_start(policy, now)
            records = read_records(session, since)
        findings = scan(records, policy, now)

        with self._access.transaction(acting, ACTION) as (session, fresh):
            stored = _Stored(session, since)
            new = []
            for finding in findings:
                if stored.known(finding):
                    continue
                row = self._store(session, finding, fresh.ledger_actor, profile.name)
                stored.add(row.rule, finding.key, row.fingerprint, row.request_ids)
                new.append(_view(row))
            total = session.scalar(select(func.count()).select_from(MisuseFindingRow)) or 0
        return ScanResult(
            new=tuple(new),
            found=len(findings),
            total=total,
            records=len(records),
            window_days=policy.window_days,
            window_start=since.isoformat(),
            profile=profile.name,
            scanned_at=now.isoformat(),
        )

    def _store(
        self, session: Session, finding: Finding, actor: str, profile: str
    ) -> MisuseFindingRow:
        """Store one finding, its ledger entry and its alert in the caller's transaction."""
        details = {**finding.details, "key": finding.key}
        row = MisuseFindingRow(
            rule=str(finding.rule),
            fingerprint=finding.fingerprint,
            title=finding.title[:300],
            explanation=finding.explanation,
            request_ids=list(finding.request_ids),
            details=details,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        # Usernames and case numbers are in the ledger already; narratives never enter it.
        entry = self._ctx.ledger.append(
            session,
            actor=actor,
            action=LedgerAction.MISUSE_FINDING,
            object_type="misuse_finding",
            object_id=str(row.id),
            payload={
                "finding_id": row.id,
                "rule": row.rule,
                "title": row.title,
                "explanation": row.explanation,
                "request_ids": list(row.request_ids),
                "details": details,
                "fingerprint": row.fingerprint,
                "profile": profile,
            },
        )
        row.ledger_seq = entry.seq
        self._inbox.raise_for_finding(session, row)  # R18: supervisors and auditors are told
        return row

    def findings(
        self, acting: Principal, rule: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[FindingView], int]:
        """Return stored findings newest first (only ``rule``'s if given) and their total.

        Raises:
            PermissionDenied: without ``report.misuse`` (recorded).
            InvalidInput: for an unknown rule, a limit outside 1-1000 or a negative offset.
        """
        check_page(limit, offset)
        check_rule(rule)
        with self._access.transaction(acting, ACTION, write=False) as (session, _):
            query = select(MisuseFindingRow)
            if rule is not None:
                query = query.where(MisuseFindingRow.rule == rule)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(MisuseFindingRow.id.desc()).limit(limit).offset(offset)
            )
            return [_view(r) for r in rows], total
