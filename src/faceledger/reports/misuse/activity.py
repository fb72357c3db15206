"""Misuse rules over who filed what, under which case, and when (R18):

- :func:`searches_per_case`: many requests under one case number;
- :func:`cases_per_requester`: one requester across many unrelated cases in a short time;
- :func:`odd_hour_searches`: one requester filing at odd hours, local time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Sequence

from faceledger.governance.profiles import MisusePolicy
from faceledger.reports.misuse.records import (
    CaseKey,
    CaseRecord,
    Finding,
    MisuseRule,
    case_label,
    ids_of,
    plural,
    span,
)

__all__ = ["cases_per_requester", "is_odd_hour", "odd_hour_searches", "searches_per_case"]


def _people(records: Sequence[CaseRecord]) -> str:
    counts = Counter(r.requester for r in records)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name} ({n})" for name, n in ranked)


def searches_per_case(records: Sequence[CaseRecord], policy: MisusePolicy) -> list[Finding]:
    """Cases (agency and case number) with at least ``policy.searches_per_case`` requests."""
    by_case: dict[CaseKey, list[CaseRecord]] = defaultdict(list)
    for record in records:
        by_case[record.case].append(record)
    found = []
    for case, group in sorted(by_case.items()):
        if len(group) < policy.searches_per_case:
            continue
        first, last = span(group)
        searched = sum(r.searched for r in group)
        requesters = sorted({r.requester for r in group})
        explanation = (
            f"{plural(len(group), 'search request')} filed under case number {case[1]} of "
            f"{case[0]} between {first} and {last} ({searched} of them searched), by "
            f"{_people(group)}. The profile flags {policy.searches_per_case} or more requests "
            f"under one case number within {policy.window_days} days: repeated searches under "
            "one real case number are how personal searches were hidden (Evansville)."
        )
        found.append(
            Finding(
                rule=MisuseRule.SEARCHES_PER_CASE,
                title=f"{len(group)} searches under case {case_label(case)}",
                explanation=explanation,
                request_ids=ids_of(group),
                details={
                    "agency": case[0],
                    "case_number": case[1],
                    "count": len(group),
                    "searched": searched,
                    "threshold": policy.searches_per_case,
                    "requesters": requesters,
                    "first": first,
                    "last": last,
                },
                key=f"{case[0]}:{case[1]}",
            )
        )
    return found


def _by_requester(records: Sequence[CaseRecord]) -> dict[str, list[CaseRecord]]:
    grouped: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.filed_at, r.request_id)):
        grouped[record.requester].append(record)
    return dict(sorted(grouped.items()))


def _busy_stretches(
    filed: Sequence[CaseRecord], needed: int, days: int
) -> list[tuple[list[CaseRecord], int]]:
    """Stretches of one requester's requests (oldest first) in which some ``days``-day window
    holds at least ``needed`` different cases; overlapping windows merge. Each comes with the
    most different cases any one window of it holds."""
    width = dt.timedelta(days=days)
    in_window: Counter[CaseKey] = Counter()
    spans: list[list[int]] = []  # [start, end, most cases in one window]
    start = 0
    for end, record in enumerate(filed):
        in_window[record.case] += 1
        while record.filed_at - filed[start].filed_at > width:
            gone = filed[start].case
            in_window[gone] -= 1
            if not in_window[gone]:
                del in_window[gone]
            start += 1
        if len(in_window) < needed:
            continue
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
            spans[-1][2] = max(spans[-1][2], len(in_window))
        else:
            spans.append([start, end, len(in_window)])
    return [(list(filed[a : b + 1]), most) for a, b, most in spans]


def cases_per_requester(records: Sequence[CaseRecord], policy: MisusePolicy) -> list[Finding]:
    """Requesters who filed under at least ``policy.cases_per_requester`` different cases
    within some ``policy.requester_days``-day window; overlapping windows make one finding."""
    found = []
    needed, days = policy.cases_per_requester, policy.requester_days
    for requester, filed in _by_requester(records).items():
        for stretch, most in _busy_stretches(filed, needed, days):
            cases = sorted({r.case for r in stretch})
            first, last = span(stretch)
            explanation = (
                f"{requester} filed {plural(len(stretch), 'request')} under "
                f"{len(cases)} different case numbers between {first} and {last}, up to {most} "
                f"within {plural(days, 'day')}. The profile flags {needed} or more unrelated "
                f"cases of one requester within any {plural(days, 'day')}: an officer seldom "
                "works that many cases at once, and searches spread over many cases can hide "
                "personal ones."
            )
            found.append(
                Finding(
                    rule=MisuseRule.CASES_PER_REQUESTER,
                    title=f"{requester}: {len(cases)} unrelated cases in a short time",
                    explanation=explanation,
                    request_ids=ids_of(stretch),
                    details={
                        "requester": requester,
                        "cases": [case_label(c) for c in cases],
                        "count": len(cases),
                        "most_in_window": most,
                        "threshold": needed,
                        "days": days,
                        "first": first,
                        "last": last,
                    },
                    key=requester,
                )
            )
    return found


def is_odd_hour(hour: int, start: int, end: int) -> bool:
    """Whether a local ``hour`` (0-23) falls in the odd hours ``start``..``end`` (end not
    included), which wrap past midnight when start > end. Equal bounds mean no odd hours."""
    if start <= end:
        return start <= hour < end
    return hour >= start or hour < end


def odd_hour_searches(records: Sequence[CaseRecord], policy: MisusePolicy) -> list[Finding]:
    """Requesters who filed at least ``policy.odd_hour_searches`` requests at odd hours in the
    unit's local time (``policy.timezone``)."""
    zone = zoneinfo.ZoneInfo(policy.timezone)
    start, end = policy.odd_hours_start, policy.odd_hours_end
    hours = f"{start:02d}:00-{end:02d}:00"
    found = []
    for requester, filed in _by_requester(records).items():
        odd = [r for r in filed if is_odd_hour(r.filed_at.astimezone(zone).hour, start, end)]
        if not odd or len(odd) < policy.odd_hour_searches:
            continue
        first, last = span(odd)
        cases = sorted({r.case for r in odd})
        explanation = (
            f"{requester} filed {plural(len(odd), 'request')} at odd hours ({hours} "
            f"{policy.timezone}) between {first} and {last}, under "
            f"{plural(len(cases), 'case number')}. The profile flags "
            f"{policy.odd_hour_searches} or more odd-hour requests of one requester within "
            f"{policy.window_days} days: searches filed when few colleagues are on duty draw "
            "less notice."
        )
        found.append(
            Finding(
                rule=MisuseRule.ODD_HOUR_SEARCHES,
                title=f"{requester}: {len(odd)} requests at odd hours",
                explanation=explanation,
                request_ids=ids_of(odd),
                details={
                    "requester": requester,
                    "count": len(odd),
                    "threshold": policy.odd_hour_searches,
                    "odd_hours": hours,
                    "timezone": policy.timezone,
                    "local_times": [
                        r.filed_at.astimezone(zone).isoformat(timespec="minutes") for r in odd
                    ],
                    "cases": [case_label(c) for c in cases],
                },
                key=requester,
            )
        )
    return found
