"""``faceledger report transparency``: the transparency report (R17) of a period, written as
``report.html``, ``report.csv`` and ``report.json``.

From the records it acts as the logged-in user (``report.transparency``). With
``--from-export`` it needs no login and no data directory: anyone counts the public fields of a
ledger export, verified first with ``--public-key``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from faceledger.cli.common import console, err_console, handled, run
from faceledger.cli.reports import report_app
from faceledger.cli.session import current_user
from faceledger.errors import InvalidInput

if TYPE_CHECKING:
    from faceledger.reports.transparency import TransparencyReport
    from faceledger.service import FaceLedger

DEFAULT_EXPORT_PROFILE = "massachusetts"


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{option} must be a date as YYYY-MM-DD, got {value!r}.", field=option
        ) from None


def _summary(report: TransparencyReport, files: tuple[Path, ...]) -> None:
    totals = report.totals()
    version = "public" if report.public else "internal"
    console.print(
        f"{version} transparency report {report.period.start} to {report.period.end} "
        f"({report.source}, profile {report.profile}): {totals['requests']} requests, "
        f"{totals['searches']} searches, {totals['candidates']} candidates, "
        f"{totals['violations']} violations, {len(report.agencies)} agencies",
        highlight=False,
    )
    for path in files:
        console.print(f"wrote {path}", highlight=False)


def _from_export(
    export: Path,
    public_key: Path | None,
    start: dt.date,
    end: dt.date,
    public: bool,
    profile: str,
    small_cell_min: int | None,
) -> TransparencyReport:
    from faceledger.db import utcnow
    from faceledger.governance.profiles import load_profile
    from faceledger.ledger import load_public_key
    from faceledger.reports.transparency import Period, build_report
    from faceledger.reports.transparency.from_export import read_export

    period = Period(start, end)
    if small_cell_min is None:
        small_cell_min = load_profile(profile).transparency.small_cell_min
    elif small_cell_min < 1:
        raise InvalidInput("--small-cell-min must be at least 1.", field="small_cell_min")
    key = None
    if public_key is not None:
        if not public_key.is_file():
            raise InvalidInput(f"No public key at {public_key}.", field="public_key")
        key = load_public_key(public_key)
    if not export.is_file():
        raise InvalidInput(f"No export file at {export}.", field="from_export")
    with export.open(encoding="utf-8") as lines:
        facts = read_export(lines, key)
    if facts.verified is None:
        err_console.print(
            "[bold yellow]warning:[/] the export was not verified; pass --public-key to check "
            "every entry and signed checkpoint first.",
            highlight=False,
        )
    else:
        console.print(f"[green]verified[/] {facts.verified.summary()}", highlight=False)
    return build_report(
        facts.requests,
        facts.violations,
        period,
        public=public,
        small_cell_min=small_cell_min,
        profile=profile,
        source="export",
        generated_at=utcnow(),
    )


@report_app.command("transparency")
def transparency(
    ctx: typer.Context,
    start: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD, UTC)."),
    end: str = typer.Option(..., "--to", help="Last day of the period (YYYY-MM-DD, included)."),
    public: bool = typer.Option(
        False, "--public", help="The public version: no personal data, small cells suppressed."
    ),
    from_export: Path | None = typer.Option(
        None,
        "--from-export",
        help="Count a ledger export's public fields instead of the records (no login needed).",
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="With --from-export: verify the export with this key first."
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help="With --from-export: the profile whose small-cell minimum applies "
        f"(default {DEFAULT_EXPORT_PROFILE}).",
    ),
    small_cell_min: int | None = typer.Option(
        None, "--small-cell-min", help="With --from-export: hide counts below this instead."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the report files into."),
) -> None:
    """Write the transparency report (R17) of a period by requesting agency: requests,
    searches, legal bases, offence classes, outcomes, candidates, emergency filings, denials
    and violations, as report.html, report.csv and report.json."""
    from faceledger.reports.transparency.render import write_report

    if from_export is not None:
        with handled():
            report = _from_export(
                from_export,
                public_key,
                _date(start, "--from"),
                _date(end, "--to"),
                public,
                profile or DEFAULT_EXPORT_PROFILE,
                small_cell_min,
            )
            _summary(report, write_report(report, out))
        return

    with handled():
        if public_key is not None or small_cell_min is not None or profile is not None:
            raise InvalidInput(
                "--public-key, --profile and --small-cell-min go with --from-export; from the "
                "records the active profile decides."
            )
        period = (_date(start, "--from"), _date(end, "--to"))

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        report = service.transparency.report(me, *period, public=public)
        _summary(report, write_report(report, out))
        return 0

    run(ctx, body)
