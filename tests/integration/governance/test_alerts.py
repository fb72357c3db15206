"""Alerts in the governed unit (R18): a violation raises one, a supervisor or auditor
acknowledges it with a note in the ledger, and nobody else may read, acknowledge or deliver
them. Delivery to real servers is in tests/integration/test_alert_delivery.py."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from faceledger.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from faceledger.governance.models import ViolationRow
from faceledger.scheduler import SCHEDULER
from faceledger.service import FaceLedger
from faceledger.service.alerts import AlertView
from faceledger.service.ledger_actions import LedgerAction
from tests.conftest import make_settings
from tests.factories import FastFaceLedger
from tests.fakes import fake_pipeline
from tests.integration.governance.conftest import Governed


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Tables (and the ledger) whose row count changed, by how much."""
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def refuse_reading(governed: Governed, who: str = "req_a") -> AlertView:
    """``who`` tries to list alerts (refused, recorded); return the alert that raised."""
    with pytest.raises(PermissionDenied):
        governed.service.alerts.list_alerts(governed.who(who))
    found, _ = governed.service.alerts.list_alerts(governed.who("sup"), limit=1)
    return found[0]


def newest_violation(governed: Governed) -> ViolationRow:
    with governed.service.context.db.read() as session:
        row = session.scalars(select(ViolationRow).order_by(ViolationRow.id.desc())).first()
        assert row is not None
        session.expunge_all()
        return row


def test_a_refused_action_raises_an_alert_naming_its_violation(governed: Governed) -> None:
    service = governed.service
    open_before = service.alerts.open_count(governed.who("sup"))
    before = governed.counts()

    alert = refuse_reading(governed)

    violation = newest_violation(governed)
    assert changed(before, governed.counts()) == {"violations": 1, "ledger": 1, "alerts": 1}
    assert (alert.source, alert.violation_id, alert.finding_id) == ("violation", violation.id, None)
    assert alert.title == "Violation: denied action"
    assert alert.reason == violation.reason and "alerts.read" in alert.reason
    assert not alert.acknowledged and alert.deliveries == ()  # no channel configured here
    assert service.alerts.open_count(governed.who("sup")) == open_before + 1
    assert service.alerts.open_count(governed.who("aud")) == open_before + 1


def test_acknowledging_with_a_note_writes_the_ledger_entry_and_closes_it(
    governed: Governed,
) -> None:
    service, auditor = governed.service, governed.who("aud")
    alert = refuse_reading(governed)
    open_before = service.alerts.open_count(auditor)
    before = governed.counts()

    view = service.alerts.acknowledge(auditor, alert.id, "  Spoke to det-a: wrong menu.  ")

    assert changed(before, governed.counts()) == {"ledger": 1}
    assert view.acknowledged and view.ack_note == "Spoke to det-a: wrong menu."
    assert view.acknowledged_by == auditor.username and view.acknowledged_at
    [entry] = governed.last_entries(1)
    assert entry.seq == view.ack_ledger_seq
    assert entry.action == LedgerAction.ALERT_ACK == "alert.ack"
    assert (entry.actor, entry.object_type, entry.object_id) == (
        auditor.ledger_actor,
        "alert",
        str(alert.id),
    )
    assert entry.payload == {
        "alert_id": alert.id,
        "source": "violation",
        "violation_id": alert.violation_id,
        "finding_id": None,
        "request_id": None,
        "note": "Spoke to det-a: wrong menu.",
        "by": auditor.ledger_actor,
    }
    assert service.alerts.open_count(auditor) == open_before - 1
    still_open, total_open = service.alerts.list_alerts(auditor, open_only=True)
    assert alert.id not in {a.id for a in still_open} and total_open == open_before - 1
    everything, total = service.alerts.list_alerts(auditor)
    assert alert.id in {a.id for a in everything} and total >= total_open + 1


def test_acknowledging_twice_is_a_conflict_and_writes_nothing(governed: Governed) -> None:
    service = governed.service
    alert = refuse_reading(governed)
    service.alerts.acknowledge(governed.who("sup"), alert.id, "handled")
    before = governed.counts()

    with pytest.raises(Conflict) as twice:
        service.alerts.acknowledge(governed.who("aud"), alert.id, "me too")

    assert twice.value.status == 409 and "already acknowledged by" in twice.value.message
    assert changed(before, governed.counts()) == {}


@pytest.mark.parametrize("note", ["", "   ", "x" * 2001])
def test_a_missing_or_long_note_is_refused_before_anything_is_written(
    governed: Governed, note: str
) -> None:
    alert = refuse_reading(governed)
    before = governed.counts()
    with pytest.raises(InvalidInput) as bad:
        governed.service.alerts.acknowledge(governed.who("sup"), alert.id, note)
    assert bad.value.details == {"field": "note"}
    assert changed(before, governed.counts()) == {}


def test_an_unknown_alert_is_not_found(governed: Governed) -> None:
    before = governed.counts()
    with pytest.raises(NotFound, match="There is no alert 99999"):
        governed.service.alerts.acknowledge(governed.who("sup"), 99999, "note")
    assert changed(before, governed.counts()) == {}


def test_a_requester_may_not_list_or_acknowledge_and_each_try_is_recorded(
    governed: Governed,
) -> None:
    service, requester = governed.service, governed.who("req_a")
    alert = refuse_reading(governed, "req_b")
    before = governed.counts()

    with pytest.raises(PermissionDenied) as listing:
        service.alerts.list_alerts(requester)
    with pytest.raises(PermissionDenied) as acking:
        service.alerts.acknowledge(requester, alert.id, "not mine to close")

    assert listing.value.status == acking.value.status == 403
    assert "alerts.ack" in acking.value.message
    # each refusal: one access.denied entry, one violation, and its own alert (R18)
    assert changed(before, governed.counts()) == {"violations": 2, "ledger": 2, "alerts": 2}
    entries = governed.last_entries(2)
    assert [e.action for e in entries] == ["access.denied", "access.denied"]
    assert [e.payload["action"] for e in entries] == ["alerts.read", "alerts.ack"]
    found, _ = service.alerts.list_alerts(governed.who("sup"), limit=1)
    assert not next(a for a in [*found, alert] if a.id == alert.id).acknowledged


@pytest.mark.parametrize("who", ["req_a", "ex1", "rev", "ex_out"])
def test_the_inbox_count_is_zero_for_others_and_records_nothing(
    governed: Governed, who: str
) -> None:
    refuse_reading(governed)
    before = governed.counts()
    assert governed.service.alerts.open_count(governed.who(who)) == 0
    assert changed(before, governed.counts()) == {}


def test_delivery_is_a_due_job_a_requester_may_not_run(governed: Governed) -> None:
    before = governed.counts()
    with pytest.raises(PermissionDenied, match=r"jobs\.run_due"):
        governed.service.alerts.deliver_due(governed.who("req_a"))
    assert changed(before, governed.counts()) == {"violations": 1, "ledger": 1, "alerts": 1}
    report = governed.service.alerts.deliver_due(governed.who("sup"))
    assert report.attempts == () and report.skipped == 0  # no channel is configured


@pytest.fixture
def with_email(governed: Governed) -> Iterator[FaceLedger]:
    """The governed unit opened again with alert email to a closed local port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(
        governed.service.settings.data_dir,
        alert_email_to="sup@unit.example",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_timeout_seconds=2,
    )
    service = FastFaceLedger(settings, pipeline=fake_pipeline())
    try:
        yield service
    finally:
        service.close()


def test_an_alert_lists_its_deliveries_and_their_failures(
    governed: Governed, with_email: FaceLedger
) -> None:
    with pytest.raises(PermissionDenied):
        with_email.alerts.list_alerts(governed.who("req_a"))
    [alert], _ = with_email.alerts.list_alerts(governed.who("sup"), limit=1)
    [delivery] = alert.deliveries
    assert (delivery.channel, delivery.target, delivery.status, delivery.attempts) == (
        "email",
        "sup@unit.example",
        "pending",
        0,
    )

    report = with_email.alerts.deliver_due(SCHEDULER)

    [attempt] = report.attempts
    assert not attempt.ok and "refused the connection" in attempt.error
    [alert], _ = with_email.alerts.list_alerts(governed.who("sup"), limit=1)
    [delivery] = alert.deliveries
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error == attempt.error and delivery.next_attempt_at
    assert alert.to_dict()["deliveries"][0]["last_error"] == attempt.error
