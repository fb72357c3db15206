"""One scan of the records: every misuse rule over the requests filed within the window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from faceledger.governance.profiles import MisusePolicy
from faceledger.reports.misuse.activity import (
    cases_per_requester,
    odd_hour_searches,
    searches_per_case,
)
from faceledger.reports.misuse.narratives import narrative_cases
from faceledger.reports.misuse.probes import probe_cases, subject_cases
from faceledger.reports.misuse.records import CaseRecord, Finding, MisuseRule

__all__ = ["RULES", "in_window", "scan", "window_start"]

Rule = Callable[[Sequence[CaseRecord], MisusePolicy], list[Finding]]

RULES: dict[MisuseRule, Rule] = {
    MisuseRule.SEARCHES_PER_CASE: searches_per_case,
    MisuseRule.CASES_PER_REQUESTER: cases_per_requester,
    MisuseRule.ODD_HOUR_SEARCHES: odd_hour_searches,
    MisuseRule.PROBE_CASES: probe_cases,
    MisuseRule.SUBJECT_CASES: subject_cases,
    MisuseRule.NARRATIVE_CASES: narrative_cases,
}
"""Every rule, in the order a scan runs them."""


def window_start(policy: MisusePolicy, now: dt.datetime) -> dt.datetime:
    """The earliest filing time a scan at ``now`` reads (``policy.window_days`` back)."""
    return now - dt.timedelta(days=policy.window_days)


def in_window(
    records: Iterable[CaseRecord], policy: MisusePolicy, now: dt.datetime
) -> list[CaseRecord]:
    """The records filed within the scan window ending at ``now``, oldest first."""
    start = window_start(policy, now)
    kept = [r for r in records if start <= r.filed_at <= now]
    return sorted(kept, key=lambda r: (r.filed_at, r.request_id))


def scan(records: Iterable[CaseRecord], policy: MisusePolicy, now: dt.datetime) -> list[Finding]:
    """Run every rule over the records filed within ``policy.window_days`` before ``now``
    (aware) and return the findings, rule by rule.

    Raises:
        ValueError: if ``now`` is a naive time.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware time")
    kept = in_window(records, policy, now)
    return [finding for rule in RULES.values() for finding in rule(kept, policy)]
