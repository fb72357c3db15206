"""Alert use cases (R18): listing, acknowledging (with a note, in the ledger) and delivering
by email and signed webhook, with retries recorded. Alerts are raised by
:class:`faceledger.service.alert_inbox.AlertInbox`.

Delivery (:meth:`AlertUseCases.deliver_due`) never holds a transaction across the network:

1. one short read transaction lists the pending deliveries that are due;
2. each is claimed by a compare-and-set on its ``attempts`` and ``next_attempt_at`` (which
   moves to a lease past the send's timeout), so a concurrent run skips it;
3. it is sent outside any transaction;
4. the attempt is recorded in a transaction of its own with its ``alert.delivery`` ledger
   entry: delivered, or the error and the next try (``alert_retry_seconds`` doubling with
   each attempt), or failed for good after ``alert_max_attempts``.

A run that dies between claim and record leaves the delivery pending; it is tried again once
the lease ends. The claim itself is a lock, not a fact of record: only attempts are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from faceledger.alerts.delivery import DeliveryFailed
from faceledger.alerts.email import SmtpConfig, recipients_of, send_email
from faceledger.alerts.message import AlertMessage
from faceledger.alerts.models import AlertDeliveryRow, AlertRow
from faceledger.alerts.webhook import TIMEOUT_SECONDS, WebhookConfig, post_webhook, redact_url
from faceledger.db import utcnow
from faceledger.errors import Conflict, InvalidInput, NotFound
from faceledger.governance.accounts import Principal
from faceledger.governance.inputs import check_text
from faceledger.service.access import Access
from faceledger.service.alert_inbox import EMAIL, WEBHOOK, AlertInbox
from faceledger.service.context import ServiceContext
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.paging import check_page

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_NOTE_CHARS = 2000
BATCH = 100
"""Deliveries tried per run at most; the rest wait for the next run."""
SMTP_EXCHANGES = 6
"""Round trips of one SMTP conversation, each under the timeout (connect, EHLO, TLS, AUTH,
MAIL/RCPT, DATA): what a claim's lease must outlast."""
LEASE_MARGIN = dt.timedelta(seconds=30)


def shown_target(channel: str, target: str) -> str:
    """A delivery's target as it may be shown and recorded (a webhook URL without the
    credentials or query it may carry)."""
    return redact_url(target) if channel == WEBHOOK else target


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class DeliveryView:
    """One alert's delivery on one channel."""

    id: int
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt_at: str | None
    """When it is tried again; None once delivered or failed for good."""
    last_error: str
    delivered_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the delivery as JSON-ready data."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class AlertView:
    """An alert as supervisors and auditors see it, with its deliveries."""

    id: int
    source: str
    violation_id: int | None
    finding_id: int | None
    request_id: int | None
    title: str
    reason: str
    created_at: str
    acknowledged: bool
    acknowledged_by: str
    acknowledged_at: str | None
    ack_note: str
    ack_ledger_seq: int | None
    deliveries: tuple[DeliveryView, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the alert as JSON-ready data."""
        return {**self.__dict__, "deliveries": [d.to_dict() for d in self.deliveries]}


@dataclass(frozen=True)
class DeliveryAttempt:
    """One delivery attempt of a run and how it ended."""

    delivery_id: int
    alert_id: int
    channel: str
    target: str
    attempt: int
    ok: bool
    error: str
    status: str
    next_attempt_at: str | None
    ledger_seq: int

    def to_dict(self) -> dict[str, Any]:
        """Return the attempt as JSON-ready data."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class DeliveryReport:
    """What one run of :meth:`AlertUseCases.deliver_due` did."""

    ran_at: dt.datetime
    attempts: tuple[DeliveryAttempt, ...]
    skipped: int
    """Due deliveries another run claimed first."""
    more_due: bool
    """Whether more deliveries were due than one run tries (:data:`BATCH`)."""

    @property
    def delivered(self) -> int:
        """Attempts that delivered."""
        return sum(a.ok for a in self.attempts)

    @property
    def failed(self) -> int:
        """Attempts that failed (retried later unless their status is ``failed``)."""
        return sum(not a.ok for a in self.attempts)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "ran_at": self.ran_at.isoformat(),
            "delivered": self.delivered,
            "failed": self.failed,
            "skipped": self.skipped,
            "more_due": self.more_due,
            "attempts": [a.to_dict() for a in self.attempts],
        }


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    channel: str
    target: str
    message: AlertMessage


def _delivery_view(row: AlertDeliveryRow) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        channel=row.channel,
        target=shown_target(row.channel, row.target),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=_iso(row.next_attempt_at) if row.status == PENDING else None,
        last_error=row.last_error,
        delivered_at=_iso(row.delivered_at),
    )


def _alert_view(row: AlertRow, deliveries: list[AlertDeliveryRow]) -> AlertView:
    return AlertView(
        id=row.id,
        source=row.source,
        violation_id=row.violation_id,
        finding_id=row.finding_id,
        request_id=row.request_id,
        title=row.title,
        reason=row.body,
        created_at=row.created_at.isoformat(),
        acknowledged=row.acknowledged_at is not None,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=_iso(row.acknowledged_at),
        ack_note=row.ack_note,
        ack_ledger_seq=row.ack_ledger_seq,
        deliveries=tuple(_delivery_view(d) for d in sorted(deliveries, key=lambda d: d.id)),
    )


def _views(session: Session, rows: list[AlertRow]) -> list[AlertView]:
    by_alert: dict[int, list[AlertDeliveryRow]] = {r.id: [] for r in rows}
    if rows:
        found = session.scalars(
            select(AlertDeliveryRow).where(AlertDeliveryRow.alert_id.in_(list(by_alert)))
        )
        for delivery in found:
            by_alert[delivery.alert_id].append(delivery)
    return [_alert_view(r, by_alert[r.id]) for r in rows]


def check_note(note: str) -> str:
    """Return an acknowledgement note stripped.

    Raises:
        InvalidInput: for an empty note or one over 2,000 characters.
    """
    text = check_text(note.strip(), "note", multiline=True) if isinstance(note, str) else ""
    if not text:
        raise InvalidInput(
            "Give a note saying what was done about the alert (1-2000 characters).",
            field="note",
        )
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(
            f"The note has {len(text)} characters; at most {MAX_NOTE_CHARS} are allowed.",
            field="note",
        )
    return text


class AlertUseCases:
    """Listing, acknowledging and delivering alerts."""

    def __init__(self, ctx: ServiceContext, access: Access, inbox: AlertInbox) -> None:
        self._ctx, self._access, self._inbox = ctx, access, inbox

    # -- the inbox -------------------------------------------------------------------------

    def list_alerts(
        self, acting: Principal, open_only: bool = False, limit: int = 100, offset: int = 0
    ) -> tuple[list[AlertView], int]:
        """Return alerts newest first (only unacknowledged ones with ``open_only``), each with
        its deliveries, and how many there are in all.

        Raises:
            PermissionDenied: without ``alerts.read`` (recorded).
            InvalidInput: for a limit outside 1-1000 or a negative offset.
        """
        check_page(limit, offset)
        with self._access.transaction(acting, "alerts.read", write=False) as (session, _):
            query = select(AlertRow)
            if open_only:
                query = query.where(AlertRow.acknowledged_at.is_(None))
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = list(
                session.scalars(query.order_by(AlertRow.id.desc()).limit(limit).offset(offset))
            )
            return _views(session, rows), total

    def open_count(self, acting: Principal) -> int:
        """Return how many alerts wait for acknowledgement: the inbox count pages show.

        Anyone may ask: for a principal without ``alerts.read`` it is 0, and nothing is
        recorded, so every page can call it."""
        with self._ctx.db.read() as session:
            if not self._access.may(session, acting, "alerts.read"):
                return 0
            count = session.scalar(
                select(func.count()).select_from(AlertRow).where(AlertRow.acknowledged_at.is_(None))
            )
            return int(count or 0)

    def acknowledge(self, acting: Principal, alert_id: int, note: str) -> AlertView:
        """Acknowledge an alert with a note; the ledger records who, when and the note
        (``alert.ack``) in the same transaction.

        Raises:
            InvalidInput: for an empty note or one over 2,000 characters (nothing written).
            PermissionDenied: without ``alerts.ack`` (recorded).
            NotFound: for an unknown alert.
            Conflict: if it was acknowledged already.
        """
        text = check_note(note)
        with self._access.transaction(acting, "alerts.ack") as (session, me):
            row = session.get(AlertRow, alert_id)
            if row is None:
                raise NotFound(f"There is no alert {alert_id}.", alert_id=alert_id)
            if row.acknowledged_at is not None:
                raise _already(row)
            now = utcnow()
            entry = self._ctx.ledger.append(
                session,
                actor=me.ledger_actor,
                action=LedgerAction.ALERT_ACK,
                object_type="alert",
                object_id=str(row.id),
                payload={
                    "alert_id": row.id,
                    "source": row.source,
                    "violation_id": row.violation_id,
                    "finding_id": row.finding_id,
                    "request_id": row.request_id,
                    "note": text,
                    "by": me.ledger_actor,
                },
            )
            # Compare-and-set: of two acknowledgements racing, one wins and the other is a 409
            # (its ledger entry rolls back with it).
            moved = session.execute(
                update(AlertRow)
                .where(AlertRow.id == row.id, AlertRow.acknowledged_at.is_(None))
                .values(
                    acknowledged_at=now,
                    acknowledged_by=me.username,
                    acknowledged_by_id=me.id,
                    ack_note=text,
                    ack_ledger_seq=entry.seq,
                )
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                session.refresh(row)
                raise _already(row)
            session.refresh(row)
            return _views(session, [row])[0]

    # -- delivery --------------------------------------------------------------------------

    def deliver_due(self, acting: Principal, now: dt.datetime | None = None) -> DeliveryReport:
        """Try every pending delivery that is due at ``now`` (default: the current time), each
        once: email over SMTP, or the signed webhook. Each attempt is recorded with its ledger
        entry (``alert.delivery``); a failed one is tried again after ``alert_retry_seconds``
        doubled per attempt, and marked failed after ``alert_max_attempts``. The scheduler of
        ``faceledger serve`` runs this; ``faceledger alerts deliver`` runs it by hand.

        Raises:
            PermissionDenied: without ``jobs.run_due`` (recorded).
            InvalidInput: for a ``now`` without a time zone.
        """
        if now is None:
            now = utcnow()
        elif now.tzinfo is None:
            raise InvalidInput("now must be a time with zone.")
        with self._access.transaction(acting, "jobs.run_due", write=False) as (session, me):
            due = session.execute(
                select(AlertDeliveryRow, AlertRow)
                .join(AlertRow, AlertRow.id == AlertDeliveryRow.alert_id)
                .where(AlertDeliveryRow.status == PENDING, AlertDeliveryRow.next_attempt_at <= now)
                .order_by(AlertDeliveryRow.next_attempt_at, AlertDeliveryRow.id)
                .limit(BATCH)
            ).all()
            found = [
                (d.id, d.channel, d.target, d.attempts, d.next_attempt_at, AlertMessage.of(a))
                for d, a in due
            ]
            actor = me.ledger_actor
        attempts: list[DeliveryAttempt] = []
        skipped = 0
        for delivery_id, channel, target, tried, due_at, message in found:
            claim = self._claim(delivery_id, channel, target, tried, due_at, message, now)
            if claim is None:
                skipped += 1
                continue
            error = self._send(claim)
            attempts.append(self._record(claim, error, actor, now))
        return DeliveryReport(now, tuple(attempts), skipped, len(found) == BATCH)

    def _lease(self, channel: str) -> dt.timedelta:
        if channel == EMAIL:
            seconds = self._ctx.settings.smtp_timeout_seconds * SMTP_EXCHANGES
        else:
            seconds = int(TIMEOUT_SECONDS) * 2
        return dt.timedelta(seconds=seconds) + LEASE_MARGIN

    def _claim(
        self,
        delivery_id: int,
        channel: str,
        target: str,
        attempts: int,
        due_at: dt.datetime,
        message: AlertMessage,
        now: dt.datetime,
    ) -> _Claim | None:
        """Claim a due delivery for this run (None if another run changed it first). The lease
        runs from the claim, not the run's start: a run's earlier sends may have taken long."""
        lease = max(now, utcnow()) + self._lease(channel)
        with self._ctx.db.transaction() as session:
            moved = session.execute(
                update(AlertDeliveryRow)
                .where(
                    AlertDeliveryRow.id == delivery_id,
                    AlertDeliveryRow.status == PENDING,
                    AlertDeliveryRow.attempts == attempts,
                    AlertDeliveryRow.next_attempt_at == due_at,
                )
                .values(next_attempt_at=lease)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
        return _Claim(delivery_id, channel, target, message)

    def _send(self, claim: _Claim) -> str:
        """Send outside any transaction; return "" when delivered, else the reason."""
        settings = self._ctx.settings
        try:
            if claim.channel == EMAIL:
                send_email(
                    SmtpConfig.from_settings(settings), claim.message, recipients_of(claim.target)
                )
            elif claim.channel == WEBHOOK:
                post_webhook(WebhookConfig.from_settings(settings, claim.target), claim.message)
            else:
                raise DeliveryFailed(claim.channel, f"unknown channel {claim.channel!r}")
        except DeliveryFailed as failed:
            return failed.reason
        return ""

    def _record(self, claim: _Claim, error: str, actor: str, now: dt.datetime) -> DeliveryAttempt:
        """Record one attempt and its ledger entry in a transaction of its own, dated when it
        ended (at the earliest the run's ``now``)."""
        settings, now = self._ctx.settings, max(now, utcnow())
        with self._ctx.db.transaction() as session:
            row = session.get(AlertDeliveryRow, claim.delivery_id, with_for_update=True)
            assert row is not None  # deliveries are never deleted
            # Counted from the row, not the claim: if the lease ran out and another run tried
            # too, both attempts happened and both count.
            row.attempts += 1
            next_at: dt.datetime | None = None
            if not error:
                row.status, row.delivered_at, row.last_error = DELIVERED, now, ""
            elif row.status != DELIVERED:
                row.last_error = error
                if row.attempts >= settings.alert_max_attempts:
                    row.status = FAILED
                else:
                    wait = settings.alert_retry_seconds * 2 ** (row.attempts - 1)
                    next_at = now + dt.timedelta(seconds=wait)
                    row.status, row.next_attempt_at = PENDING, next_at
            target = shown_target(row.channel, row.target)
            entry = self._ctx.ledger.append(
                session,
                actor=actor,
                action=LedgerAction.ALERT_DELIVERY,
                object_type="alert",
                object_id=str(row.alert_id),
                payload={
                    "alert_id": row.alert_id,
                    "delivery_id": row.id,
                    "channel": row.channel,
                    "target": target,
                    "attempt": row.attempts,
                    "ok": not error,
                    "error": error,
                    "status": row.status,
                    "next_attempt_at": _iso(next_at),
                },
            )
            return DeliveryAttempt(
                delivery_id=row.id,
                alert_id=row.alert_id,
                channel=row.channel,
                target=target,
                attempt=row.attempts,
                ok=not error,
                error=error,
                status=row.status,
                next_attempt_at=_iso(next_at),
                ledger_seq=entry.seq,
            )


def _already(row: AlertRow) -> Conflict:
    when = row.acknowledged_at.isoformat() if row.acknowledged_at else "earlier"
    return Conflict(
        f"Alert {row.id} was already acknowledged by {row.acknowledged_by} at {when}.",
        alert_id=row.id,
    )
