"""An alert as it leaves faceledger (R18): an email (subject and plain-text body) and the JSON
body of a webhook call. Both name the alert, its source, the request, the reason, and where a
supervisor or auditor acknowledges it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from faceledger.alerts.models import AlertRow

WEBHOOK_EVENT = "faceledger.alert"
WEBHOOK_VERSION = 1


def _one_line(text: str) -> str:
    # A header with a line break in it would let a title inject headers.
    return " ".join(text.split())


@dataclass(frozen=True)
class AlertMessage:
    """What an alert says, taken from its row; the same facts on every channel."""

    alert_id: int
    source: str
    title: str
    reason: str
    request_id: int | None
    violation_id: int | None
    finding_id: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: AlertRow) -> AlertMessage:
        """Return the message of a stored alert."""
        return cls(
            alert_id=row.id,
            source=row.source,
            title=row.title,
            reason=row.body,
            request_id=row.request_id,
            violation_id=row.violation_id,
            finding_id=row.finding_id,
            created_at=row.created_at,
        )

    @property
    def source_text(self) -> str:
        """The source as a person reads it: ``violation 7``, ``misuse finding 3``."""
        if self.violation_id is not None:
            return f"violation {self.violation_id}"
        if self.finding_id is not None:
            return f"misuse finding {self.finding_id}"
        return self.source

    @property
    def ack_command(self) -> str:
        """The command that acknowledges this alert."""
        return f'faceledger alerts ack {self.alert_id} --note "what was done"'

    @property
    def ack_route(self) -> str:
        """The API route that acknowledges this alert."""
        return f"POST /api/v1/alerts/{self.alert_id}/ack"

    @property
    def subject(self) -> str:
        """The email subject: the alert id and its title, on one line."""
        return _one_line(f"[faceledger alert {self.alert_id}] {self.title}")

    def text(self) -> str:
        """The plain-text body of the email."""
        request = str(self.request_id) if self.request_id is not None else "none"
        return "\n".join(
            [
                f"faceledger raised alert {self.alert_id} (R18).",
                "",
                self.title,
                "",
                self.reason,
                "",
                f"Alert:     {self.alert_id}",
                f"Source:    {self.source_text}",
                f"Request:   {request}",
                f"Raised at: {self.created_at.isoformat()}",
                "",
                "A supervisor or auditor must acknowledge it with a note; the ledger records who",
                "acknowledged it and the note. Acknowledge it with",
                f"  {self.ack_command}",
                f"or {self.ack_route} with the JSON body",
                '  {"note": "what was done"}',
                "",
            ]
        )

    def email(self, sender: str, recipients: Sequence[str]) -> EmailMessage:
        """Return the alert as an email from ``sender`` to ``recipients``."""
        message = EmailMessage()
        message["Subject"] = self.subject
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(idstring=f"alert-{self.alert_id}")
        message["X-Faceledger-Alert"] = str(self.alert_id)
        message.set_content(self.text())
        return message

    def to_dict(self) -> dict[str, Any]:
        """Return the alert as the webhook sends it (JSON-ready)."""
        return {
            "event": WEBHOOK_EVENT,
            "version": WEBHOOK_VERSION,
            "alert": {
                "id": self.alert_id,
                "source": self.source,
                "violation_id": self.violation_id,
                "finding_id": self.finding_id,
                "request_id": self.request_id,
                "title": self.title,
                "reason": self.reason,
                "created_at": self.created_at.isoformat(),
                "acknowledge": {"cli": self.ack_command, "api": self.ack_route},
            },
        }

    def webhook_body(self) -> bytes:
        """Return the exact bytes the webhook POSTs (compact JSON, sorted keys, UTF-8): the
        bytes the signature covers."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
