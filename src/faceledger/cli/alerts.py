"""``faceledger alerts list|ack|deliver``: the alert inbox of supervisors and auditors (R18),
acting as the logged-in user (see ``faceledger login``); ``deliver`` may also run as the local
operator, as cron does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from faceledger.cli.common import bounded, console, print_json, run
from faceledger.cli.reports import alerts_app
from faceledger.cli.requests import JSON_OPTION
from faceledger.cli.session import current_user

if TYPE_CHECKING:
    from faceledger.service import FaceLedger
    from faceledger.service.alerts import AlertView, DeliveryReport


def _deliveries(view: AlertView) -> str:
    parts = []
    for d in view.deliveries:
        text = f"{d.channel}: {d.status}"
        if d.attempts and d.status != "delivered":
            text += f" after {d.attempts} attempt(s) ({d.last_error})"
        parts.append(text)
    return "; ".join(parts) or "no channel configured"


def print_alert(view: AlertView, as_json: bool) -> None:
    """Print one alert."""
    if as_json:
        print_json(view.to_dict())
        return
    state = (
        f"acknowledged by {view.acknowledged_by} at {view.acknowledged_at}: {view.ack_note}"
        if view.acknowledged
        else "open"
    )
    console.print(f"[bold]alert {view.id}[/] — {view.title} — {state}", highlight=False)
    console.print(f"  deliveries: {_deliveries(view)}", highlight=False)


@alerts_app.command("list")
def list_alerts(
    ctx: typer.Context,
    open_only: bool = typer.Option(False, "--open", help="Only alerts not yet acknowledged."),
    limit: int = typer.Option(100, help="At most this many (1-1000).", callback=bounded()),
    as_json: bool = JSON_OPTION,
) -> None:
    """List alerts newest first, with their deliveries (supervisors, auditors)."""

    def body(service: FaceLedger) -> int:
        found, total = service.alerts.list_alerts(current_user(ctx, service), open_only, limit)
        if as_json:
            print_json({"total": total, "items": [a.to_dict() for a in found]})
            return 0
        table = Table(
            "id",
            "raised",
            "source",
            "request",
            "alert",
            "acknowledged",
            "deliveries",
            title=f"{total} {'open ' if open_only else ''}alert(s)",
        )
        for a in found:
            source = a.source
            if a.violation_id is not None:
                source += f" {a.violation_id}"
            elif a.finding_id is not None:
                source += f" {a.finding_id}"
            table.add_row(
                str(a.id),
                a.created_at[:19],
                source,
                str(a.request_id or ""),
                a.title,
                f"{a.acknowledged_by}: {a.ack_note}" if a.acknowledged else "open",
                _deliveries(a),
            )
        console.print(table)
        return 0

    run(ctx, body)


@alerts_app.command("ack")
def ack(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., help="Alert number.", callback=bounded()),
    note: str = typer.Option(..., "--note", help="What was done about it (1-2000 characters)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Acknowledge an alert with a note; the ledger records it (supervisors, auditors)."""

    def body(service: FaceLedger) -> int:
        print_alert(service.alerts.acknowledge(current_user(ctx, service), alert_id, note), as_json)
        return 0

    run(ctx, body)


def print_delivery_report(report: DeliveryReport, as_json: bool) -> None:
    """Print what one delivery run did."""
    data: dict[str, Any] = report.to_dict()
    if as_json:
        print_json(data)
        return
    console.print(
        f"{len(report.attempts)} delivery attempt(s): {report.delivered} delivered, "
        f"{report.failed} failed"
        + (f", {report.skipped} taken by another run" if report.skipped else "")
        + (" (more are due: run again)" if report.more_due else ""),
        highlight=False,
    )
    for a in report.attempts:
        outcome = "delivered" if a.ok else f"failed: {a.error}"
        retry = f"; next try {a.next_attempt_at}" if a.next_attempt_at else ""
        console.print(
            f"  alert {a.alert_id} {a.channel} to {a.target}, attempt {a.attempt}: "
            f"{outcome} ({a.status}{retry}; ledger entry {a.ledger_seq})",
            highlight=False,
        )


@alerts_app.command("deliver")
def deliver(
    ctx: typer.Context,
    local: bool = typer.Option(
        False,
        "--local-operator",
        help="Run as the local operator of the data directory (as cron does), not as the "
        "logged-in user.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Deliver the alerts that are due now by email and webhook, retrying failed ones whose
    wait is over; each attempt goes into the ledger (supervisors, admins, local operator)."""
    from faceledger.service import local_operator

    def body(service: FaceLedger) -> int:
        acting = local_operator() if local else current_user(ctx, service)
        report = service.alerts.deliver_due(acting)
        print_delivery_report(report, as_json)
        return 0 if report.failed == 0 else 1

    run(ctx, body)
