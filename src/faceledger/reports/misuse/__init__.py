"""Misuse analytics (R18): rules over the records of search requests, each finding with a
plain-English explanation and the requests behind it.

The rules (thresholds are the profile's ``misuse`` section, :class:`MisusePolicy`):
many searches under one case number; one requester across many unrelated cases in a short
time; searches at odd hours; the same probe (by hash or near-duplicate embedding) in unrelated
cases; the same gallery subject recurring across unrelated cases; near-identical boilerplate
narratives. "Unrelated" cases have different case numbers (or agencies).

Everything here is pure: :func:`scan` maps :class:`CaseRecord` values to :class:`Finding`
values; the service reads the records and stores the findings.
"""

from faceledger.reports.misuse.records import RULE_TITLES, CaseRecord, Finding, MisuseRule
from faceledger.reports.misuse.scan import RULES, in_window, scan, window_start

__all__ = [
    "RULES",
    "RULE_TITLES",
    "CaseRecord",
    "Finding",
    "MisuseRule",
    "in_window",
    "scan",
    "window_start",
]
