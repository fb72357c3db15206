"""The neutral records the misuse rules read, and the findings they return (R18).

A :class:`CaseRecord` is one search request as the rules see it: who filed it, under which
case, when, with which probe, and which gallery subjects it flagged. Nothing here knows about
the database; the service builds the records, the rules (pure functions) read them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RULE_TITLES", "CaseRecord", "Finding", "MisuseRule", "case_label"]


class MisuseRule(StrEnum):
    """A rule of the misuse analytics; each is named after its threshold in the profile."""

    SEARCHES_PER_CASE = "searches_per_case"
    CASES_PER_REQUESTER = "cases_per_requester"
    ODD_HOUR_SEARCHES = "odd_hour_searches"
    PROBE_CASES = "probe_cases"
    SUBJECT_CASES = "subject_cases"
    NARRATIVE_CASES = "narrative_cases"


RULE_TITLES: dict[MisuseRule, str] = {
    MisuseRule.SEARCHES_PER_CASE: "many searches under one case number",
    MisuseRule.CASES_PER_REQUESTER: "one requester across many unrelated cases in a short time",
    MisuseRule.ODD_HOUR_SEARCHES: "searches filed at odd hours",
    MisuseRule.PROBE_CASES: "the same probe in unrelated cases",
    MisuseRule.SUBJECT_CASES: "the same gallery subject recurring across unrelated cases",
    MisuseRule.NARRATIVE_CASES: "near-identical boilerplate narratives across unrelated cases",
}
"""What each rule looks for, in a few words."""

CaseKey = tuple[str, str]
"""A case: (agency slug, case number). Requests under different keys are unrelated cases."""


@dataclass(frozen=True)
class CaseRecord:
    """One search request as the misuse rules read it.

    ``subjects`` are the gallery subjects the request flagged, as (gallery, subject id): the
    candidates within the gallery's threshold or marked ``possible_lead`` by a reviewer. Every
    top-k list names some subjects, so plain list membership would make every subject of a small
    gallery "recur"; only flagged ones count.
    """

    request_id: int
    case_number: str
    requester: str
    agency: str
    filed_at: dt.datetime
    narrative: str
    probe_sha256: str
    probe_embedding: NDArray[np.float32] | None = field(default=None, compare=False)
    subjects: tuple[tuple[str, int], ...] = ()
    searched: bool = False

    def __post_init__(self) -> None:
        if self.filed_at.tzinfo is None or self.filed_at.utcoffset() is None:
            raise ValueError(f"request {self.request_id}: filed_at must be an aware time")

    @property
    def case(self) -> CaseKey:
        """The case the request was filed under: (agency, case number)."""
        return (self.agency, self.case_number)


def case_label(case: CaseKey) -> str:
    """A case as a person reads it: ``case number (agency)``."""
    return f"{case[1]} ({case[0]})"


@dataclass(frozen=True)
class Finding:
    """A pattern one rule found: a plain-English explanation naming the counts and the
    thresholds, the requests behind it, and JSON details (no floats: the ledger's canonical
    JSON has none, so similarities are strings).

    ``key`` names what the pattern is about (a case, a requester, a subject) so two findings
    over the same requests but about different things stay apart."""

    rule: MisuseRule
    title: str
    explanation: str
    request_ids: tuple[int, ...]
    details: dict[str, Any]
    key: str = ""

    @property
    def fingerprint(self) -> str:
        """SHA-256 hex of the rule, the sorted request ids and the key: the same pattern found
        again has the same fingerprint, so it is stored (and alerted) once."""
        ids = ",".join(str(i) for i in sorted(self.request_ids))
        return hashlib.sha256(f"{self.rule}\n{ids}\n{self.key}".encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as JSON-ready data."""
        return {
            "rule": str(self.rule),
            "title": self.title,
            "explanation": self.explanation,
            "request_ids": list(self.request_ids),
            "details": self.details,
            "key": self.key,
            "fingerprint": self.fingerprint,
        }


def ids_of(records: Iterable[CaseRecord]) -> tuple[int, ...]:
    """The sorted request ids of ``records``."""
    return tuple(sorted({r.request_id for r in records}))


def day(when: dt.datetime) -> str:
    """The UTC date of ``when``, ISO formatted."""
    return when.astimezone(dt.UTC).date().isoformat()


def span(records: Iterable[CaseRecord]) -> tuple[str, str]:
    """The first and last filing dates (UTC) of ``records``."""
    times = sorted(r.filed_at for r in records)
    return day(times[0]), day(times[-1])


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 request``, ``3 requests``."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
