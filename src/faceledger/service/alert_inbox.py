"""Alerts (R18): raised in the same transaction as the violation or misuse finding behind them.

:class:`AlertInbox` raises them: one alert row, and one pending delivery per configured channel
(email recipients, webhook URL). Delivering, listing and acknowledging are use cases of
:class:`faceledger.service.alerts.AlertUseCases`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from faceledger.alerts.models import AlertDeliveryRow, AlertRow
from faceledger.config import Settings
from faceledger.db import utcnow
from faceledger.governance.models import ViolationRow
from faceledger.reports.models import MisuseFindingRow

EMAIL, WEBHOOK = "email", "webhook"


class AlertInbox:
    """Raises alerts inside the caller's transaction (no network here: delivery is a job)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def raise_for_violation(self, session: Session, violation: ViolationRow) -> AlertRow:
        """Raise the alert of a violation just stored (flushed, with its id)."""
        return self._raise(
            session,
            AlertRow(
                source="violation",
                violation_id=violation.id,
                request_id=violation.request_id,
                title=f"Violation: {violation.kind.replace('_', ' ')}",
                body=violation.reason,
            ),
        )

    def raise_for_finding(self, session: Session, finding: MisuseFindingRow) -> AlertRow:
        """Raise the alert of a misuse finding just stored (flushed, with its id)."""
        return self._raise(
            session,
            AlertRow(
                source="misuse",
                finding_id=finding.id,
                request_id=finding.request_ids[0] if finding.request_ids else None,
                title=f"Possible misuse: {finding.title}",
                body=finding.explanation,
            ),
        )

    def _raise(self, session: Session, alert: AlertRow) -> AlertRow:
        alert.created_at = utcnow()
        alert.acknowledged_by, alert.ack_note = "", ""
        session.add(alert)
        session.flush()
        now = alert.created_at
        for channel, target in self.channels():
            session.add(
                AlertDeliveryRow(
                    alert_id=alert.id,
                    channel=channel,
                    target=target,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    last_error="",
                )
            )
        return alert

    def channels(self) -> list[tuple[str, str]]:
        """The configured delivery channels as (channel, target): email recipients and the
        webhook URL, each only when set."""
        found: list[tuple[str, str]] = []
        recipients = ", ".join(
            a.strip() for a in self._settings.alert_email_to.split(",") if a.strip()
        )
        if recipients:
            found.append((EMAIL, recipients))
        if self._settings.alert_webhook_url:
            found.append((WEBHOOK, self._settings.alert_webhook_url))
        return found
