"""``faceledger report purge``: what retention, sealing and gallery deletions removed (R13)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from faceledger.cli.common import console, handled, print_json, run
from faceledger.cli.reports import report_app
from faceledger.cli.session import current_user
from faceledger.errors import InvalidInput

if TYPE_CHECKING:
    from faceledger.service import FaceLedger
    from faceledger.service.purge_report import PurgeReport


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{option} must be a date as YYYY-MM-DD, got {value!r}.", field=option
        ) from None


def _print(report: PurgeReport) -> None:
    since = report.since.isoformat() if report.since else "the start"
    until = report.until.isoformat() if report.until else "now"
    tally = report.tally
    table = Table("source", "category", "count", title=f"What went, {since} to {until} (UTC)")
    for kind, items in tally.purges.items():
        table.add_row(f"retention: {kind}", "requests purged", str(tally.purged_requests[kind]))
        for category, count in sorted(items.items()):
            table.add_row(f"retention: {kind}", category, str(count))
    for reason, counts in tally.redactions.items():
        table.add_row(f"ledger redaction: {reason}", "redactions", str(counts["redactions"]))
        table.add_row(f"ledger redaction: {reason}", "ledger payloads", str(counts["entries"]))
    for category, count in tally.gallery.items():
        table.add_row("gallery deletion", category, str(count))
    console.print(table)
    console.print(
        "Ledger entries are never deleted: a redaction removes a payload and keeps its hash. "
        f"This report is ledger entry {report.ledger_seq}.",
        highlight=False,
    )


@report_app.command("purge")
def purge(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="First day (YYYY-MM-DD, UTC)."),
    until: str | None = typer.Option(None, "--until", help="Last day, included (YYYY-MM-DD, UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List what went in a period, by category and count: retention purges of probes and
    results, ledger payload redactions (retention, sealing) and gallery deletions (R13).

    Acts as the logged-in supervisor, auditor or admin; producing the report is recorded."""
    with handled():
        period = (_date(since, "--since"), _date(until, "--until"))

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        report = service.retention.report(me, *period)
        if as_json:
            print_json(report.to_dict())
        else:
            _print(report)
        return 0

    run(ctx, body)
