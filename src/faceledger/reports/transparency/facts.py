"""The neutral facts a transparency report (R17) counts: one record per request, one per
violation, and the period. Both sources build exactly these: the service from its rows, and
:mod:`.from_export` from the public fields of a ledger export, so the counts can agree.

Nothing here names a person, a case, a subject or a candidate.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from faceledger.errors import InvalidInput

NO_AGENCY = "unattributed"
"""The agency key of a violation by the local operator or an unknown account."""


@dataclass(frozen=True)
class Period:
    """The days a report covers, both included, in UTC."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise InvalidInput(
                f"The period starts ({self.start.isoformat()}) after it ends "
                f"({self.end.isoformat()}); give --from on or before --to.",
                field="from",
            )
        if self.end >= dt.date.max:
            raise InvalidInput(
                f"The period must end before {dt.date.max.isoformat()}; got "
                f"{self.end.isoformat()}.",
                field="to",
            )

    @functools.cached_property
    def begins(self) -> dt.datetime:
        """The first instant of the period (00:00 UTC of ``start``)."""
        return dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)

    @functools.cached_property
    def ends(self) -> dt.datetime:
        """The first instant after the period (00:00 UTC of the day after ``end``)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def contains(self, when: dt.datetime | None) -> bool:
        """Whether the (timezone-aware) time ``when`` falls in the period."""
        return when is not None and self.begins <= when < self.ends

    def to_dict(self) -> dict[str, str]:
        """The period as the report's JSON writes it."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(frozen=True)
class LeadUseFacts:
    """One recorded use of a released lead (R11): its kind and whether it cited corroboration."""

    use: str
    corroborated: bool


@dataclass(frozen=True)
class RequestFacts:
    """What a transparency report may count about one request.

    ``filed_at`` places the request-level counts in a period, ``searched_at`` (None if it was
    never searched) the search and its candidate count. ``outcome`` is a
    :class:`~faceledger.governance.context.Outcome` value as the case stands now; ``uses`` are
    the lead uses that decide whether an arrest, warrant or lineup outcome was corroborated.
    ``filing`` is the emergency's court filing: ``on_time``, ``late``, ``overdue`` (flagged
    and never filed), ``pending``, or "" (not an emergency, or denied). ``described_*`` are the
    requester's description of the unknown person ("" if not given).
    """

    request_id: str
    agency: str
    filed_at: dt.datetime
    legal_basis: str
    offence_class: str = ""
    emergency: bool = False
    denied: bool = False
    denied_rules: tuple[str, ...] = ()
    outcome: str = "pending"
    uses: tuple[LeadUseFacts, ...] = ()
    filing: str = ""
    described_sex: str = ""
    described_race: str = ""
    searched_at: dt.datetime | None = None
    candidates: int = 0

    @property
    def corroborated(self) -> bool:
        """Whether every use of the outcome's own kind cited corroborating evidence (R11);
        False if there is no such use."""
        same = [u for u in self.uses if u.use == self.outcome]
        return bool(same) and all(u.corroborated for u in same)


@dataclass(frozen=True)
class ViolationFacts:
    """One violation (R18): its kind, the agency it is counted under, and when."""

    kind: str
    agency: str
    recorded_at: dt.datetime


def filing_status(emergency: bool, denied: bool, filed: str, overdue_flagged: bool) -> str:
    """The ``filing`` of :class:`RequestFacts` from what is known of an emergency: ``filed``
    is ``on_time`` or ``late`` once a filing was recorded, else ""."""
    if not emergency:
        return ""
    if filed:
        return filed
    if overdue_flagged:
        return "overdue"
    return "" if denied else "pending"
