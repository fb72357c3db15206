"""An alert as email and as webhook JSON: the same facts, nothing injected into headers."""

from __future__ import annotations

import datetime as dt
import json

from faceledger.alerts.message import WEBHOOK_EVENT, AlertMessage

RAISED = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)


def alert(**changes: object) -> AlertMessage:
    base: dict[str, object] = {
        "alert_id": 12,
        "source": "violation",
        "title": "Violation: denied action",
        "reason": "det-a may not list alerts (alerts.read).",
        "request_id": 42,
        "violation_id": 9,
        "finding_id": None,
        "created_at": RAISED,
    }
    return AlertMessage(**(base | changes))  # type: ignore[arg-type]


def test_the_text_names_the_alert_source_request_reason_and_how_to_acknowledge() -> None:
    text = alert().text()
    for expected in (
        "faceledger raised alert 12 (R18).",
        "Violation: denied action",
        "det-a may not list alerts (alerts.read).",
        "Alert:     12",
        "Source:    violation 9",
        "Request:   42",
        "Raised at: 2026-03-01T12:30:00+00:00",
        'faceledger alerts ack 12 --note "what was done"',
        "POST /api/v1/alerts/12/ack",
    ):
        assert expected in text


def test_a_misuse_alert_without_a_request_says_so() -> None:
    text = alert(source="misuse", violation_id=None, finding_id=3, request_id=None).text()
    assert "Source:    misuse finding 3" in text
    assert "Request:   none" in text


def test_the_email_has_the_subject_sender_recipients_and_alert_header() -> None:
    email = alert().email("faceledger@unit.example", ["a@x.example", "b@x.example"])
    assert email["Subject"] == "[faceledger alert 12] Violation: denied action"
    assert email["From"] == "faceledger@unit.example"
    assert email["To"] == "a@x.example, b@x.example"
    assert email["X-Faceledger-Alert"] == "12"
    assert email["Message-ID"].startswith("<") and "alert-12" in email["Message-ID"]
    assert email.get_content_type() == "text/plain"
    assert "Alert:     12" in email.get_content()


def test_a_title_with_line_breaks_cannot_add_headers() -> None:
    email = alert(title="Bad\r\nBcc: attacker@evil.example").email("f@x.example", ["a@x.example"])
    assert email["Bcc"] is None
    assert email["Subject"] == "[faceledger alert 12] Bad Bcc: attacker@evil.example"


def test_the_webhook_body_is_compact_sorted_json_of_the_same_facts() -> None:
    body = alert(reason="Zugriff verweigert — ümlaut").webhook_body()
    data = json.loads(body)
    assert data["event"] == WEBHOOK_EVENT and data["version"] == 1
    assert data["alert"] == {
        "id": 12,
        "source": "violation",
        "violation_id": 9,
        "finding_id": None,
        "request_id": 42,
        "title": "Violation: denied action",
        "reason": "Zugriff verweigert — ümlaut",
        "created_at": "2026-03-01T12:30:00+00:00",
        "acknowledge": {
            "cli": 'faceledger alerts ack 12 --note "what was done"',
            "api": "POST /api/v1/alerts/12/ack",
        },
    }
    assert (
        body == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert body == alert(reason="Zugriff verweigert — ümlaut").webhook_body()  # deterministic
