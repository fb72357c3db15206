"""``faceledger doctor``: check a data directory; each finding with the fix to run.

Exit status 0 when nothing is wrong, 1 when something is (the findings are printed), as the
other checks of the CLI do for "no result".
"""

from __future__ import annotations

import typer

from faceledger.cli.common import EXIT_NO_RESULT, console, handled, print_json, state


def doctor(
    ctx: typer.Context,
    fix_modes: bool = typer.Option(
        False, "--fix-modes", help="Narrow loose modes (folders 0700, files 0600) instead."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a summary."),
) -> None:
    """Check the data directory: loose file modes, a missing or wrong KEK, unsealed values,
    and ledger entries after the last signed checkpoint."""
    from faceledger.service.doctor import examine

    with handled():
        settings = state(ctx).settings
        report = examine(settings, fix_modes=fix_modes)
    if as_json:
        print_json(report.to_dict())
    else:
        for fixed in report.fixed_modes:
            console.print(f"[green]fixed[/] {fixed}", highlight=False)
        for mirror in report.tile_mirrors:
            console.print(
                f"[dim]note:[/] {mirror} is a public tile mirror (0644 on purpose, for "
                "publication); keep it outside the data directory.",
                highlight=False,
            )
        for finding in report.findings:
            console.print(
                f"[bold red]{finding.kind}[/] {finding.subject}: {finding.problem}\n"
                f"  fix: {finding.fix}",
                highlight=False,
            )
        if report.healthy:
            console.print(f"[green]ok[/] {settings.data_dir}: nothing to fix.", highlight=False)
    if not report.healthy:
        raise typer.Exit(EXIT_NO_RESULT)
