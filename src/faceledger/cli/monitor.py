"""``faceledger monitor``: the compliance monitor over a public ledger export.

It needs only the export and the ledger's public key, and imports the monitor and the ledger's
verifier, never the service layer, so an outsider runs it alone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from faceledger.cli.common import EXIT_ERROR, console, fail, print_json
from faceledger.errors import FaceLedgerError, InvalidInput

if TYPE_CHECKING:
    from faceledger.monitor import MonitorReport

_STATUS = {"ok": "[green]ok[/]", "breach": "[bold red]BREACH[/]", "cannot check": "[yellow]?[/]"}


def monitor(
    export_file: Path = typer.Option(
        ..., "--export", help="A public (or full) JSON Lines export of the ledger."
    ),
    public_key: Path = typer.Option(..., "--public-key", help="The ledger's public key, PEM."),
    profile_history: bool = typer.Option(
        False, "--profile-history", help="Also show the policy profiles in force over time."
    ),
    grace_hours: float = typer.Option(
        48.0, "--grace-hours", help="How late a retention purge may run before it is missed."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Exit 2 also when some rule could not be checked."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Check, from the public export alone, the rules an outsider can check.

    The export is verified first. Findings name the entries' seqs and the pseudonyms of the
    requests and people involved. Exits 0 when every rule holds, 2 with findings or when the
    export does not verify.
    """
    from faceledger.ledger.keys import load_public_key
    from faceledger.monitor import monitor_export

    try:
        if grace_hours < 0:
            raise InvalidInput("--grace-hours must not be negative.")
        if not public_key.is_file():
            raise InvalidInput(f"No public key at {public_key}.")
        key = load_public_key(public_key)
        report = monitor_export(export_file, key, grace=dt.timedelta(hours=grace_hours))
    except FaceLedgerError as error:
        if not as_json:
            fail(error)
        print_json({"ok": False, "verified": False, **error.to_dict()})
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        print_json(report.to_dict(profile_history))
    else:
        _print(report, profile_history)
    code = report.exit_code(strict)
    if code:
        raise typer.Exit(code)


def _print(report: MonitorReport, profile_history: bool) -> None:
    console.print(f"[green]verified[/] {report.verified.summary()}", highlight=False)
    note = report.named_note()
    if note:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if profile_history:
        _print_profiles(report)
    for result in report.results:
        console.print(
            f"{_STATUS[result.status]} {result.rule} ({result.requirement}): "
            f"{result.description} [dim]({result.checked} checked)[/]",
            highlight=False,
        )
        for finding in result.findings:
            who = f" people: {', '.join(finding.people)}" if finding.people else ""
            console.print(f"    seq {_seqs(finding.seqs)}: {finding.message}{who}", highlight=False)
        for gap in result.unchecked:
            console.print(
                f"    [yellow]cannot check[/] seq {_seqs(gap.seqs)}: {gap.message}",
                highlight=False,
            )
    findings, unchecked = len(report.findings), len(report.unchecked)
    if findings:
        console.print(f"[bold red]{findings} finding(s)[/]", highlight=False)
    else:
        console.print("[green]every rule holds[/]", highlight=False)
    if unchecked:
        console.print(f"[yellow]{unchecked} case(s) could not be checked[/]", highlight=False)


def _print_profiles(report: MonitorReport) -> None:
    console.print("[bold]Policy profiles in force[/] (from policy.profile_set):", highlight=False)
    if not report.profiles:
        console.print("    none recorded", highlight=False)
    for profile in report.profiles:
        row = profile.to_dict()
        head = (
            f"  seq {row.pop('seq')}  {row.pop('ts')}  {_cell(row.pop('profile'))}  "
            f"sha256 {_cell(row.pop('sha256'))}  proposal {_cell(row.pop('proposal'))}"
        )
        console.print(head, highlight=False)
        console.print(
            "    " + "; ".join(f"{k}: {_cell(v)}" for k, v in row.items()), highlight=False
        )


def _cell(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "none" if value is None else str(value)


def _seqs(seqs: tuple[int, ...]) -> str:
    return ", ".join(str(s) for s in seqs) or "-"
