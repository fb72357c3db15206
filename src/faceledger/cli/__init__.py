"""The ``faceledger`` command line: every use case, through the service layer.

Exit status: 0 ok, 1 no result (nothing within threshold, verification failed to match),
2 error (bad input, refused action, broken ledger).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from faceledger.at_rest.modes import private_umask
from faceledger.cli import alerts as _alerts
from faceledger.cli import disclosure as _disclosure
from faceledger.cli import misuse as _misuse
from faceledger.cli import queries as _queries
from faceledger.cli import retention as _retention
from faceledger.cli import transparency as _transparency
from faceledger.cli.accounts import agency_app, login, logout, user_app, whoami
from faceledger.cli.backup import backup, restore
from faceledger.cli.common import (
    EXIT_ERROR,
    console,
    err_console,
    handled,
    print_json,
    state,
)
from faceledger.cli.doctor import doctor
from faceledger.cli.evaluate import evaluate
from faceledger.cli.faces import enroll, gallery_app, search, verify
from faceledger.cli.jobs import jobs_app
from faceledger.cli.keys import keys_app
from faceledger.cli.ledger import ledger_app
from faceledger.cli.models import model_app
from faceledger.cli.monitor import monitor
from faceledger.cli.quickstart import quickstart
from faceledger.cli.reports import alerts_app, report_app
from faceledger.cli.requests import policy_app, request_app, review_app, violations_app
from faceledger.cli.serve import demo, serve
from faceledger.cli.tiles import tiles_app
from faceledger.cli.witness import witness_app
from faceledger.config import describe_settings

app = typer.Typer(
    name="faceledger",
    help="Governed face search with a verifiable ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        "-d",
        help="Data directory (env FACELEDGER_DATA_DIR).",
    ),
) -> None:
    """Governed face search with a verifiable ledger."""
    state(ctx).overrides["data_dir"] = data_dir
    # Every file a command makes is 0600 and every folder 0700 (index files, WAL, reports),
    # whatever code makes it (faceledger.at_rest.modes); put back when the command ends, for
    # callers that run commands in their own process (tests, CliRunner).
    previous = private_umask()
    ctx.call_on_close(lambda: os.umask(previous))


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the data directory, database schema and ledger signing keys (idempotent)."""
    from faceledger.service import FaceLedger, local_operator

    with handled():
        service = FaceLedger.initialise(state(ctx).settings, local_operator().ledger_actor)
        console.print(f"initialised {service.settings.data_dir}")
        console.print(f"ledger public key: {service.public_key_path}")
        service.close()


@app.command("config")
def show_config(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show every setting, its value, environment variable and meaning."""
    with handled():
        values = state(ctx).settings.shown()
    rows = [(n, env, values[n], help) for n, env, _, help in describe_settings()]
    if as_json:
        print_json({n: str(v) if isinstance(v, Path) else v for n, _, v, _ in rows})
        return
    table = Table("setting", "value", "environment variable", "meaning")
    for name, env, value, help in rows:
        table.add_row(name, str(value), env, help)
    console.print(table)


app.command()(enroll)
app.command()(search)
app.command()(verify)
app.command("eval")(evaluate)
app.command()(quickstart)
app.command()(monitor)
app.command()(serve)
app.command()(demo)
app.command()(backup)
app.command()(restore)
app.command()(doctor)
app.add_typer(gallery_app, name="gallery")
app.add_typer(ledger_app, name="ledger")
ledger_app.add_typer(tiles_app, name="tiles")
app.command()(login)
app.command()(logout)
app.command()(whoami)
app.add_typer(agency_app, name="agency")
app.add_typer(user_app, name="user")
app.add_typer(request_app, name="request")
app.add_typer(review_app, name="review")
app.add_typer(violations_app, name="violations")
app.add_typer(policy_app, name="policy")
app.add_typer(jobs_app, name="jobs")
app.add_typer(model_app, name="model")
app.add_typer(report_app, name="report")
app.add_typer(alerts_app, name="alerts")
app.add_typer(witness_app, name="witness")
app.add_typer(keys_app, name="keys")

# Modules that only register commands on the apps above.
_REGISTERING = (_alerts, _disclosure, _misuse, _queries, _retention, _transparency)


def main() -> None:
    """Entry point of the ``faceledger`` console script."""
    os.environ.setdefault("KMP_WARNINGS", "0")
    private_umask()  # also before the command's options are parsed (main_options sets it too)
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        raise SystemExit(EXIT_ERROR) from None
    except Exception as exc:  # a bug: say so, keep exit status 1 for "no result"
        if os.environ.get("FACELEDGER_DEBUG"):
            raise
        err_console.print(
            f"[bold red]internal error:[/] {exc!r}. This is a bug; run again with "
            "FACELEDGER_DEBUG=1 to see the traceback.",
            highlight=False,
        )
        raise SystemExit(EXIT_ERROR) from None
