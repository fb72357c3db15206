"""``faceledger report misuse``: scan the records for misuse and list the findings (R18)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from faceledger.cli.common import bounded, console, print_json, run
from faceledger.cli.reports import report_app
from faceledger.cli.session import current_user

if TYPE_CHECKING:
    from faceledger.service import FaceLedger


@report_app.command("misuse")
def misuse(
    ctx: typer.Context,
    rule: str | None = typer.Option(
        None, help="List only this rule's findings, e.g. searches_per_case."
    ),
    limit: int = typer.Option(
        100, help="List at most this many findings (1-1000).", callback=bounded()
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Scan the records for misuse, store and alert new findings, list them (R18).

    Acts as the logged-in supervisor or auditor; reads the requests filed within the profile's
    window; lists the stored findings newest first."""

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        from faceledger.service.misuse import check_rule

        check_rule(rule)  # a bad rule is refused before the scan writes anything
        result = service.misuse.scan(me)
        found, total = service.misuse.findings(me, rule, limit)
        if as_json:
            print_json(
                {"scan": result.to_dict(), "total": total, "items": [f.to_dict() for f in found]}
            )
            return 0
        console.print(
            f"scanned {result.records} requests filed since {result.window_start[:10]} "
            f"({result.window_days} days, profile {result.profile}); new findings: "
            f"{len(result.new)}, stored in all: {result.total}",
            highlight=False,
        )
        table = Table("id", "when", "rule", "title", "requests", title=f"{total} findings")
        for f in found:
            table.add_row(
                str(f.id),
                f.created_at[:19],
                f.rule,
                f.title,
                ", ".join(str(i) for i in f.request_ids),
            )
        console.print(table)
        for f in found:  # explanations are paragraphs: too long for a table cell
            console.print(f"[bold]finding {f.id}[/]: {f.explanation}", highlight=False)
        return 0

    run(ctx, body)
