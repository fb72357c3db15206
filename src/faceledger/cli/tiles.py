"""``faceledger ledger tiles ...``: the log as C2SP tlog-tiles, written to a directory anyone can
mirror or serve as static files.

Like ``ledger verify``, it reads the ledger tables with the ledger's own reader and the public
key alone: the tiles are public, so no account is asked for.
"""

from __future__ import annotations

from pathlib import Path

import typer

from faceledger.cli.common import console, handled, print_json, state
from faceledger.errors import InvalidInput

tiles_app = typer.Typer(
    help="The log as C2SP tlog-tiles: a static, mirrorable copy of the signed tree.",
    no_args_is_help=True,
)


@tiles_app.command("export")
def export(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        ...,
        metavar="DIR",
        help="Directory to write (created if missing; updated if it holds an older export).",
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Read this database instead (SQLAlchemy URL)."
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="The ledger's public key, PEM (default: the data dir's)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a sentence."),
) -> None:
    """Write the latest signed checkpoint and every tile and entry bundle of its tree to DIR.

    Re-running into the same DIR adds what is new: full tiles are kept (they never change),
    partial ones are added, and the checkpoint is replaced last. Exits 2 if nothing is signed
    yet or DIR holds another log's or a different history's tiles.
    """
    from faceledger.ledger import PUBLIC_KEY_FILE, load_public_key
    from faceledger.ledger.tiles_db import export_database_tiles

    with handled():
        settings = state(ctx).settings
        key_path = public_key or settings.data_dir / "keys" / PUBLIC_KEY_FILE
        if not key_path.is_file():
            raise InvalidInput(f"No public key at {key_path}; pass --public-key.")
        result = export_database_tiles(
            database_url or settings.db_url, directory, load_public_key(key_path)
        )
    if as_json:
        print_json({"ok": True, **result.__dict__, "summary": result.summary()})
    else:
        console.print(f"[green]OK[/] {result.summary()}", highlight=False)
