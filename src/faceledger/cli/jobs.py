"""``faceledger jobs``: the scheduled jobs, for cron (``faceledger serve`` runs them itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from faceledger.cli.common import run
from faceledger.cli.requests import JSON_OPTION, print_report

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

jobs_app = typer.Typer(help="Scheduled jobs: overdue emergency filings (R4, R18).")


@jobs_app.command("run-due")
def run_due(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Run the due jobs now as the local operator: flag and seal emergencies whose court
    filing is overdue; the run and each effect go into the ledger."""
    from faceledger.service import local_operator

    def body(service: FaceLedger) -> int:
        print_report(service.emergencies.run_due(local_operator()), as_json)
        return 0

    run(ctx, body)
