"""``faceledger jobs``: the scheduled jobs, for cron (``faceledger serve`` runs them itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from faceledger.cli.common import console, err_console, print_json, run
from faceledger.cli.requests import JSON_OPTION, print_report

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

jobs_app = typer.Typer(
    help="Scheduled jobs: overdue emergency filings (R4), the misuse scan and alert delivery (R18)."
)


@jobs_app.command("run-due")
def run_due(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Run the due jobs now as the local operator: flag and seal emergencies whose court
    filing is overdue, scan for misuse, deliver pending alerts; the run and each effect go
    into the ledger. Exit status 1 if a job failed (it runs again next time)."""
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
            for error in done.errors:
                err_console.print(f"[bold red]error:[/] {error}", highlight=False)
        return 1 if done.errors else 0

    run(ctx, body)
