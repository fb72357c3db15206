"""The oversight dashboard (R18) for supervisors and auditors: requests per month by state,
outcomes, violations per month by kind, open alerts and misuse findings. Counts only: the
dashboard names no person, case or subject."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from faceledger.alerts.models import AlertRow
from faceledger.db import utcnow
from faceledger.errors import InvalidInput
from faceledger.governance.accounts import Principal
from faceledger.governance.models import RequestRow, ViolationRow
from faceledger.reports.models import MisuseFindingRow
from faceledger.service.access import Access
from faceledger.service.context import ServiceContext


@dataclass(frozen=True)
class Dashboard:
    """The dashboard's counts over the last ``months`` calendar months (oldest first)."""

    months: tuple[str, ...]
    """Each month as ``YYYY-MM``."""
    requests: int
    """Requests filed in the period."""
    requests_by_state: dict[str, dict[str, int]]
    """State -> month -> requests filed that month now in that state."""
    outcomes: dict[str, int]
    """Outcome -> requests filed in the period."""
    violations_by_kind: dict[str, dict[str, int]]
    """Violation kind -> month -> violations recorded that month."""
    open_alerts: int
    alerts: int
    findings: int

    def to_dict(self) -> dict[str, Any]:
        """Return the dashboard as JSON-ready data."""
        return {**self.__dict__, "months": list(self.months)}


def _months_back(today: dt.date, months: int) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for _ in range(months):
        out.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return out[::-1]


def _month(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m")


class DashboardUseCases:
    """Reading the dashboard (``report.dashboard``)."""

    def __init__(self, ctx: ServiceContext, access: Access) -> None:
        self._ctx, self._access = ctx, access

    def dashboard(self, acting: Principal, months: int = 12) -> Dashboard:
        """Return the dashboard's counts for the last ``months`` calendar months.

        Raises:
            PermissionDenied: without ``report.dashboard`` (recorded).
            InvalidInput: for ``months`` outside 1-60.
        """
        if not 1 <= months <= 60:
            raise InvalidInput("months must be 1-60.", field="months")
        starts = _months_back(utcnow().date(), months)
        since = dt.datetime.combine(starts[0], dt.time(), tzinfo=dt.UTC)
        labels = tuple(m.strftime("%Y-%m") for m in starts)
        with self._access.transaction(acting, "report.dashboard", write=False) as (session, _):
            rows = session.execute(
                select(RequestRow.state, RequestRow.outcome, RequestRow.created_at).where(
                    RequestRow.created_at >= since
                )
            ).all()
            violations = session.execute(
                select(ViolationRow.kind, ViolationRow.created_at).where(
                    ViolationRow.created_at >= since
                )
            ).all()
            open_alerts = session.scalar(
                select(func.count()).select_from(AlertRow).where(AlertRow.acknowledged_at.is_(None))
            )
            alerts = session.scalar(select(func.count()).select_from(AlertRow))
            findings = session.scalar(select(func.count()).select_from(MisuseFindingRow))
        by_state: dict[str, Counter[str]] = {}
        for state, _, created in rows:
            by_state.setdefault(state, Counter())[_month(created)] += 1
        by_kind: dict[str, Counter[str]] = {}
        for kind, created in violations:
            by_kind.setdefault(kind, Counter())[_month(created)] += 1
        return Dashboard(
            months=labels,
            requests=len(rows),
            requests_by_state={s: {m: c[m] for m in labels} for s, c in sorted(by_state.items())},
            outcomes=dict(sorted(Counter(outcome for _, outcome, _ in rows).items())),
            violations_by_kind={k: {m: c[m] for m in labels} for k, c in sorted(by_kind.items())},
            open_alerts=int(open_alerts or 0),
            alerts=int(alerts or 0),
            findings=int(findings or 0),
        )
