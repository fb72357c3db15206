"""The transparency report (R17) from the records: requests, searches, outcomes, emergency
filings, denials and violations of a period, by requesting agency.

The rows are read into the neutral facts of :mod:`faceledger.reports.transparency` under the
same definitions the public export is counted by (see its ``from_export`` module), so the two
agree: a request by its filing time (``RequestRow.created_at``), a search and its candidates by
``SearchRun.finished_at``, a violation by ``ViolationRow.created_at`` under the agency of its
request, else of the acting account. Producing a report is itself recorded
(``report.transparency``: period, version, totals).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from faceledger.db import utcnow
from faceledger.governance.accounts import Agency, Principal, User
from faceledger.governance.lifecycle import State
from faceledger.governance.models import (
    CandidateRow,
    LeadUseRow,
    RequestRow,
    SearchRun,
    ViolationRow,
)
from faceledger.reports.transparency import (
    LeadUseFacts,
    Period,
    RequestFacts,
    TransparencyReport,
    ViolationFacts,
    build_report,
    filing_status,
)
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.policy import PolicyStore

_EMERGENCY = "emergency"


class TransparencyUseCases:
    """Producing the transparency report (``report.transparency``: supervisors, auditors,
    admins and the local operator)."""

    def __init__(self, ctx: ServiceContext, access: Access, policy: PolicyStore) -> None:
        self._ctx, self._access, self._policy = ctx, access, policy

    def report(
        self, acting: Principal, start: dt.date, end: dt.date, public: bool
    ) -> TransparencyReport:
        """Count the period ``start``..``end`` (both included, UTC) from the records and
        record that the report was produced.

        The public version hides small cells (the profile's ``transparency.small_cell_min``);
        the internal one shows every count exactly.

        Raises:
            InvalidInput: if ``start`` is after ``end`` (nothing recorded).
            PermissionDenied: without ``report.transparency`` (recorded).
        """
        period = Period(start, end)
        with self._access.transaction(acting, "report.transparency", write=False) as (session, _):
            profile = self._policy.profile(session)
            requests = self._request_facts(session, period)
            violations = self._violation_facts(session, period)
        report = build_report(
            requests,
            violations,
            period,
            public=public,
            small_cell_min=profile.transparency.small_cell_min,
            profile=profile.name,
            source="records",
            generated_at=utcnow(),
        )
        # The count above holds no write lock; recording it is a second, small transaction.
        with self._access.transaction(acting, "report.transparency") as (session, me):
            self._ctx.ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.REPORT_TRANSPARENCY,
                object_type="report",
                object_id=f"transparency:{start.isoformat()}:{end.isoformat()}",
                payload=_record(report),
            )
        return report

    # -- reading the rows ------------------------------------------------------------------

    def _request_facts(self, session: Session, period: Period) -> list[RequestFacts]:
        """Every request filed or searched in the period, as facts."""
        wanted = _in_period(period)
        rows = session.execute(
            select(
                RequestRow.id,
                Agency.slug,
                RequestRow.created_at,
                RequestRow.legal_basis_kind,
                RequestRow.offence_severity,
                RequestRow.state,
                RequestRow.outcome,
                RequestRow.filing_deadline,
                RequestRow.filed_at,
                RequestRow.overdue_flagged,
                RequestRow.described_sex,
                RequestRow.described_race,
                RequestRow.sealed_at,
                RequestRow.purged_at,
                SearchRun.id.label("run_id"),
                SearchRun.finished_at,
                SearchRun.ledger_seq,
            )
            .join(Agency, Agency.id == RequestRow.agency_id)
            .outerjoin(SearchRun, SearchRun.request_id == RequestRow.id)
            .where(wanted)
            .order_by(RequestRow.id)
        ).all()
        listed = dict(
            session.execute(
                select(CandidateRow.run_id, func.count())
                .join(SearchRun, SearchRun.id == CandidateRow.run_id)
                .join(RequestRow, RequestRow.id == SearchRun.request_id)
                .where(wanted)
                .group_by(CandidateRow.run_id)
            ).all()
        )
        uses: defaultdict[int, list[LeadUseFacts]] = defaultdict(list)
        for request_id, use, reference in session.execute(
            select(LeadUseRow.request_id, LeadUseRow.use, LeadUseRow.corroboration_ref)
            .join(RequestRow, RequestRow.id == LeadUseRow.request_id)
            .where(wanted)
            .order_by(LeadUseRow.id)
        ):
            uses[request_id].append(LeadUseFacts(use, bool(reference.strip())))
        rules = {
            request_id: _denied_rules(decision)
            for request_id, decision in session.execute(
                select(RequestRow.id, RequestRow.decision).where(
                    wanted, RequestRow.state == State.DENIED.value
                )
            )
        }

        found = []
        for r in rows:
            emergency, denied = r.legal_basis_kind == _EMERGENCY, r.state == State.DENIED.value
            filed = ""
            if r.filed_at is not None:
                late = r.filing_deadline is not None and r.filed_at > r.filing_deadline
                filed = "late" if late else "on_time"
            candidates = listed.get(r.run_id, 0) if r.run_id is not None else 0
            gone = r.sealed_at is not None or r.purged_at is not None
            if r.run_id is not None and not candidates and gone:
                candidates = self._listed_count(session, r.ledger_seq)
            found.append(
                RequestFacts(
                    request_id=str(r.id),
                    agency=r.slug,
                    filed_at=r.created_at,
                    legal_basis=r.legal_basis_kind,
                    offence_class=r.offence_severity,
                    emergency=emergency,
                    denied=denied,
                    denied_rules=rules.get(r.id, ()),
                    outcome=r.outcome,
                    uses=tuple(uses.get(r.id, ())),
                    filing=filing_status(emergency, denied, filed, r.overdue_flagged),
                    described_sex=r.described_sex,
                    described_race=r.described_race,
                    searched_at=r.finished_at,
                    candidates=candidates,
                )
            )
        return found

    def _listed_count(self, session: Session, seq: int) -> int:
        """The length of a candidate list whose rows are gone (sealing, R4, and the results
        purge, R13, delete them): the search's ledger entry still says it, in its public
        fields even once its payload is redacted."""
        if seq < 0:
            return 0
        entry = self._ctx.ledger.entry(session, seq)
        counted = (entry.payload or {}).get("candidate_count")
        if not isinstance(counted, int):
            counted = (entry.public or {}).get("candidates", 0)
        return counted if isinstance(counted, int) else 0

    @staticmethod
    def _violation_facts(session: Session, period: Period) -> list[ViolationFacts]:
        """Every violation recorded in the period, under the agency of its request, else of
        the account that acted ("" for the local operator or an unknown account)."""
        requested = aliased(Agency)
        rows = session.execute(
            select(ViolationRow.kind, ViolationRow.created_at, ViolationRow.actor, requested.slug)
            .outerjoin(RequestRow, RequestRow.id == ViolationRow.request_id)
            .outerjoin(requested, requested.id == RequestRow.agency_id)
            .where(ViolationRow.created_at >= period.begins, ViolationRow.created_at < period.ends)
            .order_by(ViolationRow.id)
        ).all()
        accounts: dict[str, str] | None = None
        found = []
        for kind, created_at, actor, slug in rows:
            if slug is None:
                if accounts is None:
                    accounts = dict(
                        session.execute(
                            select(User.username, Agency.slug).join(
                                Agency, Agency.id == User.agency_id
                            )
                        ).all()
                    )
                slug = accounts.get(_username(actor), "")
            found.append(ViolationFacts(kind, slug, created_at))
        return found


def _in_period(period: Period) -> ColumnElement[bool]:
    """Requests filed in the period, or whose search ran in it."""
    searched = select(SearchRun.request_id).where(
        SearchRun.finished_at >= period.begins, SearchRun.finished_at < period.ends
    )
    return or_(
        and_(RequestRow.created_at >= period.begins, RequestRow.created_at < period.ends),
        RequestRow.id.in_(searched),
    )


def _denied_rules(decision: dict[str, Any] | None) -> tuple[str, ...]:
    failures = (decision or {}).get("failures", [])
    return tuple(sorted({str(f.get("rule_id", "")) for f in failures} - {""}))


def _username(actor: str) -> str:
    """The account name of a ledger actor ``user:<name>[+token:<id>]`` ("" otherwise)."""
    if not actor.startswith("user:"):
        return ""
    return actor.removeprefix("user:").split("+", 1)[0]


def _record(report: TransparencyReport) -> dict[str, Any]:
    """The ledger payload of a produced report: what was counted, not the counts by agency."""
    totals = report.totals()
    return {
        "period": report.period.to_dict(),
        "public": report.public,
        "source": report.source,
        "profile": report.profile,
        "small_cell_min": report.small_cell_min,
        "agencies": len(report.agencies),
        "totals": {m: totals[m] for m in ("requests", "searches", "candidates", "violations")},
    }
