"""``faceledger jobs``: the scheduled jobs, for cron (``faceledger serve`` runs them itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from faceledger.cli.common import console, err_console, print_json, run
from faceledger.cli.requests import JSON_OPTION, print_report

if TYPE_CHECKING:
    from faceledger.service import FaceLedger
    from faceledger.service.retention import RetentionRun

jobs_app = typer.Typer(
    help="Scheduled jobs: overdue emergency filings (R4), the misuse scan and alert delivery "
    "(R18), retention (R13)."
)


@jobs_app.command("run-due")
def run_due(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Run the due jobs now as the local operator: flag and seal emergencies whose court
    filing is overdue, scan for misuse, deliver pending alerts, purge what is past the
    profile's retention periods and redact the ledger payloads of purged and sealed requests,
    sign a checkpoint if one is due and push the latest to the configured witnesses; the run
    and each effect go into the ledger. Exit status 1 if a job failed (it runs again
    next time)."""
    from faceledger.service import local_operator

    def body(service: FaceLedger) -> int:
        done = service.jobs.run_due(local_operator())
        if as_json:
            print_json(done.to_dict())
        else:
            print_report(done.emergencies, False)
            if done.misuse is not None:
                console.print(
                    f"misuse scan: {len(done.misuse.new)} new finding(s), "
                    f"{done.misuse.total} stored"
                )
            if done.alerts is not None:
                console.print(
                    f"alert deliveries: {done.alerts.delivered} delivered, "
                    f"{done.alerts.failed} failed"
                )
            if done.retention is not None:
                print_retention(done.retention)
            if done.checkpoint is not None:
                console.print(f"checkpoint {done.checkpoint} signed (one was due)")
            if done.witnesses is not None:
                console.print(f"witnesses: {done.witnesses.summary()}", highlight=False)
            for error in done.errors:
                err_console.print(f"[bold red]error:[/] {error}", highlight=False)
        return 1 if done.errors else 0

    run(ctx, body)


def print_retention(done: RetentionRun) -> None:
    """Print what a retention run did: requests purged by kind, items by category, ledger
    payloads redacted."""
    from faceledger.governance.retention import PurgeKind

    purged = ", ".join(f"{len(done.purged(kind))} {kind.value} purge(s)" for kind in PurgeKind)
    items = ", ".join(f"{n} {category}" for category, n in sorted(done.items().items()) if n)
    redacted = sum(1 for r in done.requests if r.redacted)
    console.print(
        f"retention (profile {done.profile}): {purged}; removed: {items or 'nothing'}; "
        f"{done.entries_redacted} ledger payload(s) redacted for {redacted} request(s)",
        highlight=False,
    )
    shown = 20  # a first run on an old unit may purge thousands: --json lists them all
    for result in done.requests[:shown]:
        what = "+".join(result.purged) or "-"
        console.print(
            f"  request {result.request_id}: purged {what}, redacted {result.redacted}"
            + (f" ({result.reason})" if result.reason else ""),
            highlight=False,
        )
    if len(done.requests) > shown:
        console.print(f"  ... and {len(done.requests) - shown} more (--json lists every one)")
