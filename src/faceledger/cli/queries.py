"""``faceledger request query``: case queries over requests and their searches (R12, R13),
as the logged-in user, shown as a table, JSON, or written to a CSV file.

"All searches linked to arrest warrants since 2026-01-01" is
``faceledger request query --lead-use warrant --searched-since 2026-01-01``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from faceledger.cli.common import bounded, console, err_console, handled, print_json, run
from faceledger.cli.requests import request_app
from faceledger.cli.session import current_user
from faceledger.governance.case_filters import CHOICES, CaseFilter

if TYPE_CHECKING:
    from faceledger.service import FaceLedger
    from faceledger.service.case_queries import CasePage, CaseRow


def _choices(name: str) -> str:
    return ", ".join(CHOICES[name])


def _write_csv(service: FaceLedger, me: Any, spec: CaseFilter, target: Path) -> tuple[int, str]:
    """Write the export to ``target`` ("-": standard output); a file appears only whole."""
    export = service.cases.export(me, spec)
    if str(target) == "-":
        return export.write(sys.stdout), export.description
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            written = export.write(out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return written, export.description


def _print_page(page: CasePage) -> None:
    console.print(f"{page.description}: {page.total}", highlight=False)
    if page.items:
        # The essentials only, so the table fits a terminal; --json and --csv have every field.
        table = Table(title="newest first")
        for name in ("id", "case", "agency", "state", "outcome", "searched", "lead uses"):
            table.add_column(name, overflow="fold")
        for row in page.items:
            table.add_row(*_cells(row))
        console.print(table)
    shown = page.offset + len(page.items)
    if shown < page.total:
        console.print(
            f"rows {page.offset + 1}-{shown} of {page.total}; see more with --offset {shown}",
            highlight=False,
        )


def _cells(row: CaseRow) -> list[str]:
    return [
        str(row.id),
        row.case_number,
        row.agency or "",
        row.state,
        row.outcome,
        (row.searched_at or "")[:10],
        ", ".join(u.kind for u in row.lead_uses),
    ]


@request_app.command("query")
def query(
    ctx: typer.Context,
    state: list[str] = typer.Option([], "--state", help=f"Request state ({_choices('state')})."),
    agency: list[str] = typer.Option([], "--agency", help="Requesting agency slug."),
    offence: list[str] = typer.Option([], "--offence", help="Offence code."),
    offence_class: list[str] = typer.Option(
        [], "--offence-class", help=f"Offence severity class ({_choices('offence_class')})."
    ),
    basis: list[str] = typer.Option([], "--basis", help=f"Legal basis ({_choices('basis')})."),
    lead_use: list[str] = typer.Option(
        [],
        "--lead-use",
        help=f"A lead of the request was used for ({_choices('lead_use')}).",
    ),
    outcome: list[str] = typer.Option(
        [], "--outcome", help=f"Where the case stands ({_choices('outcome')})."
    ),
    filed_since: str | None = typer.Option(
        None,
        "--since",
        "--filed-since",
        help="Filed on or after this day (YYYY-MM-DD, UTC; the request's filing date).",
    ),
    filed_until: str | None = typer.Option(
        None, "--until", "--filed-until", help="Filed on or before this day (YYYY-MM-DD, UTC)."
    ),
    searched_since: str | None = typer.Option(
        None,
        "--searched-since",
        help="Searched on or after this day (YYYY-MM-DD, UTC; when the search finished).",
    ),
    searched_until: str | None = typer.Option(
        None, "--searched-until", help="Searched on or before this day (YYYY-MM-DD, UTC)."
    ),
    examiner: str | None = typer.Option(None, "--examiner", help="Examiner who ran the search."),
    reviewer: str | None = typer.Option(None, "--reviewer", help="First or peer reviewer."),
    requester: str | None = typer.Option(None, "--requester", help="Requester who filed it."),
    case: str | None = typer.Option(None, "--case", help="Case number (exact)."),
    disclosure: str | None = typer.Option(
        None, "--disclosure", help=f"Disclosure status ({_choices('disclosure')})."
    ),
    csv_file: Path | None = typer.Option(
        None,
        "--csv",
        "-o",
        help="Write every matching request (not one page) to this CSV file ('-': stdout).",
        dir_okay=False,
    ),
    limit: int = typer.Option(50, help="At most this many rows (1-500).", callback=bounded()),
    offset: int = typer.Option(0, help="Skip this many rows.", callback=bounded(0)),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Find the requests you may see by state, agency, offence, legal basis, lead use,
    outcome, dates and people, newest first; e.g. all searches linked to warrants since
    2026-01-01: `--lead-use warrant --searched-since 2026-01-01`. `--since`/`--until` filter
    the filing date, `--searched-since`/`--searched-until` the search date."""
    fields = {
        "state": state,
        "agency": agency,
        "offence": offence,
        "offence_class": offence_class,
        "basis": basis,
        "lead_use": lead_use,
        "outcome": outcome,
        "filed_since": filed_since,
        "filed_until": filed_until,
        "searched_since": searched_since,
        "searched_until": searched_until,
        "examiner": examiner,
        "reviewer": reviewer,
        "requester": requester,
        "case": case,
        "disclosure": disclosure,
    }
    with handled():
        spec = CaseFilter.parse(fields)

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        if csv_file is not None:
            written, description = _write_csv(service, me, spec, csv_file)
            summary = {"file": str(csv_file), "rows": written, "description": description}
            if str(csv_file) == "-":  # the CSV is on standard output: say so beside it
                err_console.print(f"wrote {written} rows ({description})", highlight=False)
            elif as_json:
                print_json(summary)
            else:
                console.print(
                    f"wrote {written} rows ({description}) to {csv_file}", highlight=False
                )
            return 0
        page = service.cases.query(me, spec, limit, offset)
        if as_json:
            print_json(page.to_dict())
        else:
            _print_page(page)
        return 0

    run(ctx, body)
