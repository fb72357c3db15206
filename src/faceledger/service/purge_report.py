"""The purge report (R13): what went in a period, by source and category, counted from the
ledger's proof entries (``retention.purge``, ``ledger.redact``, ``gallery.delete_subject``,
``gallery.delete_photo``) by their public fields, so it counts what an outsider can count
from a public export too. Gallery deletion entries written before they had public fields are
counted from their payloads' lists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceledger.errors import InvalidInput
from faceledger.governance.retention import PurgeTally
from faceledger.ledger.canonical import parse_json
from faceledger.ledger.models import EntryRow
from faceledger.service.ledger_actions import LedgerAction

REPORT_ACTION = "report.purge"
_REPORTED = (
    LedgerAction.RETENTION_PURGE,
    LedgerAction.LEDGER_REDACT,
    LedgerAction.GALLERY_DELETE_SUBJECT,
    LedgerAction.GALLERY_DELETE_PHOTO,
)


@dataclass(frozen=True)
class PurgeReport:
    """What went in a period, by source and category (see :class:`PurgeTally`)."""

    since: dt.date | None
    until: dt.date | None
    generated_at: dt.datetime
    tally: PurgeTally = field(default_factory=PurgeTally)
    ledger_seq: int = -1

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "since": _day(self.since),
            "until": _day(self.until),
            "generated_at": self.generated_at.isoformat(),
            **self.tally.to_dict(),
            "ledger_seq": self.ledger_seq,
        }

    def record(self) -> tuple[str, dict[str, Any]]:
        """Return the object id and payload of the ``report.purge`` entry that records it."""
        since, until = _day(self.since), _day(self.until)
        payload = {"since": since, "until": until, "totals": self.tally.totals()}
        return f"purge:{since or ''}:{until or ''}", payload


def check_period(since: dt.date | None, until: dt.date | None) -> None:
    """Return if the period is well formed (either end may be open).

    Raises:
        InvalidInput: if ``since`` is after ``until``.
    """
    if since is not None and until is not None and since > until:
        raise InvalidInput(
            f"The period starts ({since.isoformat()}) after it ends ({until.isoformat()}).",
            field="since",
        )


def read_tally(session: Session, since: dt.date | None, until: dt.date | None) -> PurgeTally:
    """Count the proof entries of the days ``since`` to ``until`` (included, UTC)."""
    query = select(EntryRow.action, EntryRow.public, EntryRow.payload).where(
        EntryRow.action.in_([a.value for a in _REPORTED])
    )
    if since is not None:
        query = query.where(EntryRow.ts >= _midnight(since))
    if until is not None:
        query = query.where(EntryRow.ts < _midnight(until + dt.timedelta(days=1)))
    tally = PurgeTally()
    for action, public, payload in session.execute(query.order_by(EntryRow.seq)):
        _count_entry(tally, action, _json(public), _json(payload))
    return tally


def _count_entry(
    tally: PurgeTally, action: str, public: dict[str, Any], payload: dict[str, Any]
) -> None:
    if action == LedgerAction.RETENTION_PURGE:
        tally.add_purge(str(public.get("kind", "")), _mapping(public.get("items")))
    elif action == LedgerAction.LEDGER_REDACT:
        tally.add_redaction(str(public.get("reason", "")), public.get("entries"))
    elif "items" in public:
        tally.add_gallery(_mapping(public["items"]))
    else:
        templates = len(payload.get("template_ids") or [])
        if action == LedgerAction.GALLERY_DELETE_SUBJECT:
            photos = len(payload.get("photo_sha256s") or [])
            tally.add_gallery({"subjects": 1, "photos": photos, "templates": templates})
        else:
            tally.add_gallery({"photos": 1, "templates": templates})


def _json(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    value = parse_json(text)
    return value if isinstance(value, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()
