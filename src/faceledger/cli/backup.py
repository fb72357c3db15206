"""``faceledger backup DIR`` and ``faceledger restore DIR``: online snapshots with sealed keys.

The passphrase that seals the ledger keys comes from ``--passphrase-file`` or the environment
variable ``FACELEDGER_BACKUP_PASSPHRASE``; one of them is required (the keys are never written
to a backup in plain text).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import typer

from faceledger.cli.common import console, err_console, handled, open_service, print_json, state
from faceledger.errors import InvalidInput
from faceledger.governance.accounts import LocalOperator

PASSPHRASE_ENV = "FACELEDGER_BACKUP_PASSPHRASE"

PASSPHRASE_OPTION = typer.Option(
    None,
    "--passphrase-file",
    help=f"File holding the passphrase that seals the keys (else env {PASSPHRASE_ENV}).",
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a summary.")


def _passphrase(path: Path | None) -> str:
    """The passphrase from the file (its trailing newline dropped) or the environment.

    Raises:
        InvalidInput: if neither gives one, or the file cannot be read.
    """
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"Cannot read the passphrase file {path}: {exc}.") from None
    value = os.environ.get(PASSPHRASE_ENV)
    if not value:
        raise InvalidInput(
            f"A passphrase is needed to seal the ledger keys: pass --passphrase-file or set "
            f"{PASSPHRASE_ENV}."
        )
    return value


def _step(quiet: bool) -> Callable[[str], None]:
    def say(step: str) -> None:
        if not quiet:
            err_console.print(f"[dim]…[/] {step}", highlight=False)

    return say


def backup(
    ctx: typer.Context,
    target: Path = typer.Argument(..., help="A new or empty folder to write the backup to."),
    passphrase_file: Path | None = PASSPHRASE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Back up the data directory while it runs: database snapshot, sealed keys, config and the
    trusted checkpoint (index files are left out; they are rebuilt)."""
    from faceledger.service.backup import backup as take_backup
    from faceledger.service.backup import manifest_summary

    with handled():
        passphrase = _passphrase(passphrase_file)
        # A fresh signed checkpoint, so the backup's trusted checkpoint covers all of it.
        service = open_service(ctx)
        try:
            service.audit.sign_checkpoint(LocalOperator.current())
        finally:
            service.close()
        manifest = take_backup(state(ctx).settings, target, passphrase, _step(as_json))
    if as_json:
        print_json({"backup": str(target), **manifest_summary(manifest)})
        return
    ledger = manifest.ledger
    console.print(
        f"[green]backed up[/] {state(ctx).settings.data_dir} to {target}: {manifest.dialect} "
        f"database, ledger of {ledger.tree_size} entries (root {ledger.root_hash[:16]}…), "
        f"trusted checkpoint {ledger.checkpoint_number} at size {ledger.checkpoint_size}.",
        highlight=False,
    )
    console.print(
        f"Verify a restored copy with `faceledger ledger verify --trusted-checkpoint "
        f"{target / 'checkpoint.json'}`.",
        highlight=False,
    )


def restore(
    ctx: typer.Context,
    source: Path = typer.Argument(..., help="A backup folder made by `faceledger backup`."),
    passphrase_file: Path | None = PASSPHRASE_OPTION,
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace the data directory's ledger even if it is longer (a rollback) or different.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Restore a backup into the data directory (stop the service first); refuses to roll a
    newer ledger back, and verifies the restored ledger against the backup's checkpoint."""
    from faceledger.service.backup import manifest_summary
    from faceledger.service.backup import restore as do_restore

    with handled():
        passphrase = _passphrase(passphrase_file)
        settings = state(ctx).settings
        done = do_restore(settings, source, passphrase, force, _step(as_json))
    if as_json:
        print_json(
            {
                "restored": str(settings.data_dir),
                "replaced_size": done.replaced_size,
                "verified": {
                    "tree_size": done.verified.tree_size,
                    "root_hash": done.verified.root_hash,
                    "trusted_size": done.verified.trusted_size,
                },
                "manifest": manifest_summary(done.manifest),
            }
        )
        return
    console.print(
        f"[green]restored[/] {source} into {settings.data_dir}: ledger of "
        f"{done.verified.tree_size} entries verified against the trusted checkpoint at size "
        f"{done.verified.trusted_size} (the ledger here had {done.replaced_size}). The index "
        "files are rebuilt on the first search.",
        highlight=False,
    )
