"""Retention with proof (R13): the due job that applies the profile's retention periods, and
the purge report of what went.

:meth:`RetentionUseCases.run` (``retention.purge``; the scheduler and ``faceledger jobs
run-due`` run it) takes each request whose purge is due (see
:mod:`faceledger.governance.retention` for when) in a transaction of its own:

* probe purge: the probe photo's bytes go (unless a request still within its probe period was
  filed with the same photo: the last of them deletes them), with the searched face's embedding
  and the detected face boxes; stored face crops there are none (they are cut from the bytes
  when asked for). The probe's SHA-256 stays.
* results purge: the candidate rows go, the released candidate ids and the reviewers' notes are
  emptied; the counts, the outcomes of the marks, and the search entry's payload hash stay.

Each purge writes one ``retention.purge`` entry about the request, public fields exactly
``{"kind": "probe" | "results", "due": <envelope time>, "items": {category: count}}``; the
payload says what went and which hashes were kept. ``purged_at`` records the run.

Ledger payloads, then. Once both purges of a request are done, the payloads of its entries
(object ``request``/id, every action but ``retention.purge`` and ``ledger.redact``, which are
the proof and name no one) are redacted as they become older than the profile's
``audit_log_min_days``; a sealed request's are redacted at the first run after sealing. Each
redaction is a ``ledger.redact`` entry of its own (payload: the seqs and why; public
``{"reason": "retention" | "sealed", "entries": n}``), written in the same transaction, whose
seq every redacted row's ``redacted_by`` names (:mod:`faceledger.ledger.redaction`).
``ledger_redacted_at`` records when nothing of the request was left to redact.

Why a sealed request's redaction does not break R13: R13 asks that the *log* be kept for at
least ``audit_log_min_days``, and it is: no entry is ever deleted or changed but for its
payload; its envelope (time, action, actor and object, or their pseudonyms), its payload hash
and its public fields stay, so the log's size, its Merkle tree and every signed checkpoint are
unchanged and it verifies as before, and the redaction itself is in the log. What goes early is
the content of a sealed record, which a court ordered deleted; keeping it in the ledger would
defeat the seal.

Ledger entries are never deleted. Every request is one transaction, so a crash loses nothing,
and a second run finds nothing due: it does nothing.

The clock: :attr:`RetentionUseCases.clock` (the wall clock unless a test sets another) is the
only time retention reads; the ledger stamps its entries with its own clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from faceledger.db import utcnow
from faceledger.errors import PermissionDenied
from faceledger.governance.accounts import Principal
from faceledger.governance.models import RequestRow, SearchRun
from faceledger.governance.profiles import RetentionPolicy
from faceledger.governance.retention import (
    Due,
    PurgeKind,
    RedactionReason,
    RequestDates,
    due_now,
    earliest_filing,
    fully_purged,
    log_cutoff,
)
from faceledger.ledger.envelope import format_ts
from faceledger.ledger.models import EntryRow
from faceledger.ledger.redaction import redact_payloads
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.policy import PolicyStore
from faceledger.service.purge_report import REPORT_ACTION, PurgeReport, check_period, read_tally
from faceledger.service.retention_purges import purge_probe, purge_results

ACTION = "retention.purge"
PROOF_ACTIONS = (LedgerAction.RETENTION_PURGE.value, LedgerAction.LEDGER_REDACT.value)
"""Entries that prove a purge or a redaction: never redacted themselves."""
_CHUNK = 500

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestRetention:
    """What one run did to one request."""

    request_id: int
    purged: tuple[str, ...]
    """The kinds purged now (``probe``, ``results``)."""
    items: dict[str, int]
    """What went, by category (both purges together)."""
    redacted: int
    """Ledger payloads redacted now."""
    reason: str | None
    """Why they were redacted (``retention``, ``sealed``), None if none were."""
    ledger_seqs: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {**self.__dict__, "purged": list(self.purged), "ledger_seqs": list(self.ledger_seqs)}


@dataclass(frozen=True)
class RetentionRun:
    """What one run of the retention job did."""

    ran_at: dt.datetime
    profile: str
    requests: tuple[RequestRetention, ...] = ()
    errors: tuple[str, ...] = ()

    def purged(self, kind: PurgeKind) -> list[int]:
        """Return the requests whose ``kind`` purge ran now."""
        return [r.request_id for r in self.requests if kind.value in r.purged]

    def items(self) -> dict[str, int]:
        """Return what went, by category, over every request."""
        totals: dict[str, int] = {}
        for result in self.requests:
            for category, count in result.items.items():
                totals[category] = totals.get(category, 0) + count
        return totals

    @property
    def entries_redacted(self) -> int:
        """How many ledger payloads were redacted now."""
        return sum(r.redacted for r in self.requests)

    def to_dict(self) -> dict[str, Any]:
        """Return the run as JSON-ready data."""
        return {
            "ran_at": self.ran_at.isoformat(),
            "profile": self.profile,
            "purged": {kind.value: self.purged(kind) for kind in PurgeKind},
            "items": self.items(),
            "entries_redacted": self.entries_redacted,
            "redacted": [r.request_id for r in self.requests if r.redacted],
            "requests": [r.to_dict() for r in self.requests],
            "errors": list(self.errors),
        }


@dataclass
class _Work:
    """One request's changes in its transaction, gathered for its result."""

    purged: list[str] = field(default_factory=list)
    items: dict[str, int] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)
    redacted: int = 0
    reason: str | None = None


class RetentionUseCases:
    """Applying retention (``retention.purge``) and reporting what went (``report.purge``)."""

    def __init__(
        self,
        ctx: ServiceContext,
        access: Access,
        policy: PolicyStore,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._ctx, self._access, self._policy = ctx, access, policy
        self.clock = clock
        """The time retention reads (tests move it past a retention period)."""

    # -- the job ---------------------------------------------------------------------------

    def run(self, acting: Principal) -> RetentionRun:
        """Purge and redact everything due now (module doc), one request per transaction.

        A request that fails is logged, listed in ``errors`` and tried again at the next run;
        the others go on.

        Raises:
            PermissionDenied: without ``retention.purge`` (recorded; nothing else is written).
        """
        now = self.clock()
        with self._access.transaction(acting, ACTION, write=False) as (session, _):
            profile = self._policy.profile(session)
            ids = self._due_requests(session, profile.retention, now)
        done, errors = [], []
        for request_id in ids:
            try:
                result = self._request(acting, request_id, now)
            except PermissionDenied:
                raise  # the principal lost the action mid-run: recorded once, stop
            except Exception as exc:  # one bad request must not hold up the others
                log.exception("retention: request %s failed", request_id)
                errors.append(f"request {request_id}: {exc}")
                continue
            if result is not None:
                done.append(result)
        return RetentionRun(now, profile.name, tuple(done), tuple(errors))

    def _due_requests(
        self, session: Session, policy: RetentionPolicy, now: dt.datetime
    ) -> list[int]:
        """The requests with a purge or a redaction due at ``now``, read without a lock."""
        # A request leaves the scan once its payloads are redacted (both purges done before);
        # a sealed one stays until its purges have run too.
        rows = session.execute(
            select(
                RequestRow.id,
                RequestRow.created_at,
                SearchRun.finished_at,
                RequestRow.purged_at,
                RequestRow.sealed_at,
                RequestRow.ledger_redacted_at,
            )
            .outerjoin(SearchRun, SearchRun.request_id == RequestRow.id)
            .where(
                or_(
                    and_(
                        RequestRow.created_at <= earliest_filing(policy, now),
                        or_(
                            RequestRow.ledger_redacted_at.is_(None),
                            RequestRow.sealed_at.is_not(None),
                        ),
                    ),
                    and_(
                        RequestRow.sealed_at.is_not(None),
                        RequestRow.ledger_redacted_at.is_(None),
                    ),
                )
            )
            .order_by(RequestRow.id)
        ).all()
        due, waiting = set(), []
        for r in rows:
            dates = RequestDates(r.created_at, r.finished_at, r.purged_at)
            sealed_unredacted = r.sealed_at is not None and r.ledger_redacted_at is None
            if sealed_unredacted or due_now(policy, dates, now):
                due.add(r.id)
            elif r.ledger_redacted_at is None and fully_purged(policy, dates):
                waiting.append(r.id)
        # A purged request's redaction is due once one of its payloads is old enough.
        cutoff = log_cutoff(policy, now)
        for chunk in _chunks(waiting):
            # Per request, how many payloads are old enough; a request with none left is
            # absent, and due too (only to be marked).
            old_enough: dict[str, int] = dict(
                session.execute(
                    select(EntryRow.object_id, func.sum(case((EntryRow.ts <= cutoff, 1), else_=0)))
                    .where(*_redactable(chunk))
                    .group_by(EntryRow.object_id)
                ).all()
            )
            due.update(i for i in chunk if old_enough.get(str(i), 1))
        return sorted(due)

    def _request(
        self, acting: Principal, request_id: int, now: dt.datetime
    ) -> RequestRetention | None:
        """Purge and redact what is due of one request, in one transaction."""
        with self._access.transaction(acting, ACTION) as (session, me):
            row = session.get(RequestRow, request_id, with_for_update=True)
            if row is None:
                return None
            policy = self._policy.profile(session).retention
            notice = self._policy.notice(session)
            actor, work = me.ledger_actor, _Work()
            dates = RequestDates(
                row.created_at, None if row.run is None else row.run.finished_at, row.purged_at
            )
            for due in due_now(policy, dates, now):  # again, under the lock
                deleted, kept = (
                    purge_probe(session, row, policy.probe_days, now)
                    if due.kind is PurgeKind.PROBE
                    else purge_results(session, row)
                )
                work.seqs.append(
                    self._record_purge(session, actor, row, due, deleted, kept, notice)
                )
                work.purged.append(due.kind.value)
                for category, count in deleted.items():
                    work.items[category] = work.items.get(category, 0) + count
            if work.purged:
                row.purged_at = now
                dates = replace(dates, purged_at=now)
            if row.ledger_redacted_at is None:
                if row.sealed_at is not None:
                    self._redact(session, actor, row, RedactionReason.SEALED, None, now, work)
                elif fully_purged(policy, dates):
                    cutoff = log_cutoff(policy, now)
                    self._redact(session, actor, row, RedactionReason.RETENTION, cutoff, now, work)
            if not work.seqs:
                return None  # at most ledger_redacted_at was set: nothing was left
        return RequestRetention(
            request_id, tuple(work.purged), work.items, work.redacted, work.reason, tuple(work.seqs)
        )

    def _record_purge(
        self,
        session: Session,
        actor: str,
        row: RequestRow,
        due: Due,
        deleted: dict[str, int],
        kept: dict[str, Any],
        notice: dict[str, Any],
    ) -> int:
        when = format_ts(due.at)
        entry = self._ctx.ledger.append(
            session,
            actor=actor,
            action=LedgerAction.RETENTION_PURGE,
            object_type="request",
            object_id=str(row.id),
            payload={
                "request_id": row.id,
                "kind": due.kind.value,
                "due": when,
                "deleted": deleted,
                "kept": kept,
                "profile": notice,
            },
            public={"kind": due.kind.value, "due": when, "items": deleted},
        )
        return entry.seq

    def _redact(
        self,
        session: Session,
        actor: str,
        row: RequestRow,
        reason: RedactionReason,
        cutoff: dt.datetime | None,
        now: dt.datetime,
        work: _Work,
    ) -> None:
        """Redact the request's payloads older than ``cutoff`` (all if None) with their
        ``ledger.redact`` entry; mark the request once none is left."""
        present = session.execute(
            select(EntryRow.seq, EntryRow.ts).where(*_redactable([row.id])).order_by(EntryRow.seq)
        ).all()
        seqs = [seq for seq, ts in present if cutoff is None or ts <= cutoff]
        if seqs:
            why = (
                f"Request {row.id} was sealed: its records were ordered deleted."
                if reason is RedactionReason.SEALED
                else f"Request {row.id} was purged and these entries are older than the "
                "profile's minimum log retention."
            )
            entry = self._ctx.ledger.append(
                session,
                actor=actor,
                action=LedgerAction.LEDGER_REDACT,
                object_type="request",
                object_id=str(row.id),
                payload={"request_id": row.id, "reason": reason.value, "why": why, "seqs": seqs},
                public={"reason": reason.value, "entries": len(seqs)},
            )
            work.redacted += redact_payloads(session.connection(), seqs, entry.seq)
            work.reason = reason.value
            work.seqs.append(entry.seq)
        if len(seqs) == len(present):
            row.ledger_redacted_at = now

    # -- the report ------------------------------------------------------------------------

    def report(
        self, acting: Principal, since: dt.date | None = None, until: dt.date | None = None
    ) -> PurgeReport:
        """Count what went from ``since`` to ``until`` (days included, UTC; open if None):
        retention purges by kind, ledger redactions by reason, gallery deletions, by category
        (:mod:`faceledger.service.purge_report`); and record that the report was produced
        (``report.purge``), as the transparency report does.

        Raises:
            InvalidInput: if ``since`` is after ``until`` (nothing recorded).
            PermissionDenied: without ``report.purge`` (recorded).
        """
        check_period(since, until)
        with self._access.transaction(acting, REPORT_ACTION, write=False) as (session, _):
            report = PurgeReport(since, until, self.clock(), read_tally(session, since, until))
        # The count above holds no write lock; recording it is a second, small transaction.
        object_id, payload = report.record()
        with self._access.transaction(acting, REPORT_ACTION) as (session, me):
            entry = self._ctx.ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.REPORT_PURGE,
                object_type="report",
                object_id=object_id,
                payload=payload,
            )
        return replace(report, ledger_seq=entry.seq)


def _redactable(request_ids: Sequence[int]) -> Iterable[Any]:
    """The filter of a request's entries whose payloads retention may still redact."""
    return (
        EntryRow.object_type == "request",
        EntryRow.object_id.in_([str(i) for i in request_ids]),
        EntryRow.payload.is_not(None),
        EntryRow.action.not_in(PROOF_ACTIONS),
    )


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
