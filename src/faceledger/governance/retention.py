"""What retention (R13) says is due: dates in, due purges and redactions out. No database, no
clock; the profile's :class:`~faceledger.governance.profiles.RetentionPolicy` is passed in.

Two purges per request, each due once:

* ``probe``: ``probe_days`` after the request was filed (``created_at``);
* ``results``: ``result_days`` after its search ran (``searched_at``), or after it was filed
  when it was never searched (then nothing is listed, but the request's ledger payloads still
  wait for this purge before they are redacted).

A request's ``purged_at`` is the time of the last purge run that touched it, and every run
purges every kind that is due by then, in one transaction. So a kind is done exactly when
``purged_at`` is at or after the time it became due: one column records both purges, and a
second run finds nothing left to do.

The payloads of a request's ledger entries may be redacted once both purges are done and the
entries are older than ``audit_log_min_days`` (the minimum the log keeps them, R13), or at
once when the request is sealed (a court's order; see :mod:`faceledger.service.retention`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from faceledger.governance.profiles import RetentionPolicy


class PurgeKind(StrEnum):
    """What a retention purge removes."""

    PROBE = "probe"
    """The probe photo's bytes, the searched face's embedding and the detected face boxes."""
    RESULTS = "results"
    """The candidate list, the released results and the reviewers' notes."""


class RedactionReason(StrEnum):
    """Why ledger payloads were redacted."""

    RETENTION = "retention"
    SEALED = "sealed"


PROBE_ITEMS = ("probe_image", "probe_embedding", "detected_faces")
"""The categories a probe purge counts, in the order reports list them."""
RESULT_ITEMS = ("candidates", "released_results", "review_notes")
"""The categories a results purge counts."""
GALLERY_ITEMS = ("subjects", "photos", "templates", "face_chips", "index_entries")
"""The categories a gallery deletion counts."""


@dataclass(frozen=True)
class RequestDates:
    """The times of one request that retention reads."""

    created_at: dt.datetime
    searched_at: dt.datetime | None
    purged_at: dt.datetime | None


@dataclass(frozen=True)
class Due:
    """One purge that is due: its kind and when it became due."""

    kind: PurgeKind
    at: dt.datetime


def due_at(policy: RetentionPolicy, dates: RequestDates, kind: PurgeKind) -> dt.datetime:
    """Return when the ``kind`` purge of a request becomes due."""
    if kind is PurgeKind.PROBE:
        return dates.created_at + dt.timedelta(days=policy.probe_days)
    start = dates.searched_at or dates.created_at
    return start + dt.timedelta(days=policy.result_days)


def done(policy: RetentionPolicy, dates: RequestDates, kind: PurgeKind) -> bool:
    """Whether the ``kind`` purge of a request has run (module doc: ``purged_at``)."""
    return dates.purged_at is not None and dates.purged_at >= due_at(policy, dates, kind)


def due_now(policy: RetentionPolicy, dates: RequestDates, now: dt.datetime) -> tuple[Due, ...]:
    """Return the purges of a request that are due at ``now`` and have not run, probe first."""
    found = []
    for kind in PurgeKind:
        at = due_at(policy, dates, kind)
        if at <= now and not done(policy, dates, kind):
            found.append(Due(kind, at))
    return tuple(found)


def fully_purged(policy: RetentionPolicy, dates: RequestDates) -> bool:
    """Whether both purges of a request have run, so its ledger payloads may be redacted."""
    return all(done(policy, dates, kind) for kind in PurgeKind)


def earliest_filing(policy: RetentionPolicy, now: dt.datetime) -> dt.datetime:
    """Return the latest filing time at which a request can have a purge due at ``now``: no
    purge is due before ``min(probe_days, result_days)`` after filing (a search comes after
    its filing), so a scan need not read requests filed later."""
    return now - dt.timedelta(days=min(policy.probe_days, policy.result_days))


def log_cutoff(policy: RetentionPolicy, now: dt.datetime) -> dt.datetime:
    """Return the newest entry time whose payload retention may redact at ``now``."""
    return now - dt.timedelta(days=policy.audit_log_min_days)


@dataclass
class PurgeTally:
    """What went, by source and category: the purge report's counts."""

    purges: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind.value: {} for kind in PurgeKind}
    )
    purged_requests: dict[str, int] = field(
        default_factory=lambda: {kind.value: 0 for kind in PurgeKind}
    )
    redactions: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            reason.value: {"redactions": 0, "entries": 0} for reason in RedactionReason
        }
    )
    gallery: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GALLERY_ITEMS, 0))

    def add_purge(self, kind: str, items: Mapping[str, Any]) -> None:
        """Count one retention purge of ``kind`` and the items it removed."""
        self.purged_requests[kind] = self.purged_requests.get(kind, 0) + 1
        counts = self.purges.setdefault(kind, {})
        for category, count in items.items():
            counts[category] = counts.get(category, 0) + _count(count)

    def add_redaction(self, reason: str, entries: Any) -> None:
        """Count one redaction of ``entries`` ledger payloads for ``reason``."""
        counts = self.redactions.setdefault(reason, {"redactions": 0, "entries": 0})
        counts["redactions"] += 1
        counts["entries"] += _count(entries)

    def add_gallery(self, items: Mapping[str, Any]) -> None:
        """Count one gallery deletion (a subject or a photo) and the items it removed."""
        for category, count in items.items():
            self.gallery[category] = self.gallery.get(category, 0) + _count(count)

    def totals(self) -> dict[str, int]:
        """Return every category's count over all sources (``ledger_payloads`` for the
        redacted entries)."""
        totals: dict[str, int] = {}
        for counts in (*self.purges.values(), self.gallery):
            for category, count in counts.items():
                totals[category] = totals.get(category, 0) + count
        totals["ledger_payloads"] = sum(r["entries"] for r in self.redactions.values())
        return totals

    def to_dict(self) -> dict[str, Any]:
        """Return the tally as JSON-ready data."""
        return {
            "purges": {
                kind: {"requests": self.purged_requests.get(kind, 0), "items": dict(items)}
                for kind, items in self.purges.items()
            },
            "redactions": {reason: dict(c) for reason, c in self.redactions.items()},
            "gallery": dict(self.gallery),
            "totals": self.totals(),
        }


def _count(value: Any) -> int:
    """A count from a ledger entry; anything else (a damaged or foreign entry) counts 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
