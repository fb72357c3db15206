"""``faceledger keys rotate-data-key``: rotate the data keys that seal biometrics at rest.

By default a new data key is made and every sealed value re-sealed with it, in batches, with
progress per table (``done/total``); ``--rewrap`` keeps the data keys and wraps them under a new
key-encryption key instead. The local operator may, as an admin may (``keys.rotate_data_key``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from faceledger.at_rest.keyring import Progress
from faceledger.cli.common import console, err_console, print_json, run
from faceledger.governance.accounts import LocalOperator

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

keys_app = typer.Typer(help="Keys that seal biometrics at rest.", no_args_is_help=True)


def _progress(quiet: bool) -> Progress:
    def say(what: str, done: int, total: int) -> None:
        if not quiet:
            err_console.print(f"[dim]…[/] {what}: {done}/{total}", highlight=False)

    return say


@keys_app.command("rotate-data-key")
def rotate_data_key(
    ctx: typer.Context,
    rewrap: bool = typer.Option(
        False,
        "--rewrap",
        help="Keep the data keys and wrap them under a new KEK instead of re-encrypting.",
    ),
    new_kek_file: Path | None = typer.Option(
        None,
        "--new-kek-file",
        help="With --rewrap: the new KEK file (made if missing); without it the KEK file in use "
        "is replaced.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a summary."),
) -> None:
    """Rotate the data keys: re-seal every sealed value with a new data key (resumable), or
    re-wrap the data keys under a new KEK (--rewrap)."""
    progress = _progress(as_json)

    def body(service: FaceLedger) -> int:
        acting = LocalOperator.current()
        if rewrap:
            wrapped = service.data_keys.rewrap(acting, new_kek_file, progress)
            if as_json:
                print_json(
                    {
                        "mode": "rewrap",
                        "key_ids": wrapped.key_ids,
                        "old_kek": wrapped.old_fingerprint,
                        "new_kek": wrapped.new_fingerprint,
                        "kek_file": str(wrapped.kek_file),
                        "ledger_seq": wrapped.ledger_seq,
                    }
                )
                return 0
            console.print(
                f"[green]re-wrapped[/] data keys {', '.join(map(str, wrapped.key_ids))} under the "
                f"KEK {wrapped.new_fingerprint} in {wrapped.kek_file} (was "
                f"{wrapped.old_fingerprint}; ledger entry {wrapped.ledger_seq}).",
                highlight=False,
            )
            if new_kek_file is not None:
                console.print(
                    f"Set data_kek_file = {wrapped.kek_file} (FACELEDGER_DATA_KEK_FILE) before "
                    "the next start, then destroy the old KEK.",
                    highlight=False,
                )
            return 0
        done = service.data_keys.rotate(acting, progress)
        if as_json:
            print_json(
                {
                    "mode": "reencrypt",
                    "key_id": done.key_id,
                    "retired_key_ids": done.retired,
                    "columns": {
                        t.column: {"resealed": t.resealed, "kept": t.kept, "total": t.total}
                        for t in done.columns
                    },
                    "ledger_seq": done.ledger_seq,
                }
            )
            return 0
        resealed = sum(t.resealed for t in done.columns)
        console.print(
            f"[green]rotated[/] to data key {done.key_id}: {resealed} value(s) re-sealed, "
            f"keys retired: {', '.join(map(str, done.retired)) or 'none'} (ledger entry "
            f"{done.ledger_seq}).",
            highlight=False,
        )
        return 0

    run(ctx, body)
