"""``faceledger ledger ...``: checkpoints, queries, exports, proofs, and independent verification.

``verify`` and ``check-proof`` need only an export (or a database URL) and the public key: they
import the ledger's verifier, never the service layer, so an outside auditor can run them alone.
``check-packet`` needs only a disclosure packet and the public key (and the catalogue's ledger
action names, to read the entries into facts).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from faceledger.cli.common import bounded, console, handled, print_json, run, state
from faceledger.errors import InvalidInput
from faceledger.governance.accounts import LocalOperator

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

ledger_app = typer.Typer(
    help="Inspect, export and verify the tamper-evident ledger.", no_args_is_help=True
)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _parse_time(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--{name} must be an ISO 8601 date or time, got {value!r}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@ledger_app.command("checkpoint")
def checkpoint(
    ctx: typer.Context,
    save: Path | None = typer.Option(
        None, help="Also write the signed checkpoint to this file (keep it to detect rollback)."
    ),
) -> None:
    """Sign a checkpoint of the ledger as it stands now and print it."""

    def body(service: FaceLedger) -> int:
        signed = service.audit.sign_checkpoint(LocalOperator.current())
        text = signed.to_json()
        if save is not None:
            save.write_text(text + "\n", encoding="utf-8")
        sys.stdout.write(text + "\n")
        return 0

    run(ctx, body)


@ledger_app.command("rotate-key")
def rotate_key(ctx: typer.Context) -> None:
    """Rotate the checkpoint signing key: the new key is announced in the log, signed by the old.

    The public key file stays the first key (auditors verify the rotations from it); the old
    private key is kept as ledger_private_key.<old id>.retired.pem until an admin removes it.
    """

    def body(service: FaceLedger) -> int:
        done = service.ledger_keys.rotate(LocalOperator.current())
        console.print(
            f"Rotated the ledger signing key: old key {done.old_key_id}, new key "
            f"{done.new_key_id} (announced in entry {done.entry.seq}; checkpoint "
            f"{done.checkpoint.number} is the first signed with it).",
            highlight=False,
        )
        return 0

    run(ctx, body)


@ledger_app.command("entries")
def entries(
    ctx: typer.Context,
    actor: str | None = typer.Option(None, help="Only entries by this actor."),
    action: str | None = typer.Option(None, help="Only this action, e.g. search.run."),
    object_type: str | None = typer.Option(None, help="Only objects of this type."),
    object_id: str | None = typer.Option(None, help="Only this object id."),
    since: str | None = typer.Option(None, help="From this time (ISO 8601, inclusive; UTC)."),
    until: str | None = typer.Option(None, help="Before this time (ISO 8601, exclusive; UTC)."),
    limit: int = typer.Option(100, help="At most this many entries (1-10000).", callback=bounded()),
    offset: int = typer.Option(0, help="Skip this many matching entries.", callback=bounded(0)),
    as_json: bool = JSON_OPTION,
) -> None:
    """List ledger entries, filtered by actor, action, object and time."""

    def body(service: FaceLedger) -> int:
        found = service.audit.ledger_entries(
            LocalOperator.current(),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            since=_parse_time(since, "since"),
            until=_parse_time(until, "until"),
            limit=limit,
            offset=offset,
        )
        if as_json:
            print_json(
                [
                    {
                        "seq": e.seq,
                        "ts": e.ts.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "object_type": e.object_type,
                        "object_id": e.object_id,
                        "payload": e.payload,
                        "leaf_hash": e.leaf_hash,
                    }
                    for e in found
                ]
            )
            return 0
        table = Table("seq", "time (UTC)", "actor", "action", "object")
        for e in found:
            table.add_row(
                str(e.seq),
                e.ts.strftime("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                f"{e.object_type}:{e.object_id}"[:60],
            )
        console.print(table)
        return 0

    run(ctx, body)


@ledger_app.command("export")
def export(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default stdout)."),
    public: bool = typer.Option(
        False, "--public", help="Leave payloads out (hashes only): fit for public release."
    ),
) -> None:
    """Export entries and checkpoints as JSON Lines for independent verification."""

    def body(service: FaceLedger) -> int:
        if out is None:
            service.audit.export_ledger(
                LocalOperator.current(), sys.stdout, include_payloads=not public
            )
        else:
            with out.open("w", encoding="utf-8") as handle:
                header = service.audit.export_ledger(
                    LocalOperator.current(), handle, include_payloads=not public
                )
            typer.echo(f"wrote {out} ({header})", err=True)
        return 0

    run(ctx, body)


@ledger_app.command("prove")
def prove(
    ctx: typer.Context,
    seq: int = typer.Argument(..., help="Entry number (0-based).", callback=bounded(0)),
    public: bool = typer.Option(False, "--public", help="Leave the payload out (hash only)."),
) -> None:
    """Print a self-contained inclusion proof of one entry against a signed checkpoint."""

    def body(service: FaceLedger) -> int:
        print_json(
            service.audit.prove_entry(LocalOperator.current(), seq, include_payload=not public)
        )
        return 0

    run(ctx, body)


def _data_dir_public_key(ctx: typer.Context) -> Path:
    """Where ``faceledger init`` put the public key of this data directory."""
    from faceledger.ledger import PUBLIC_KEY_FILE

    return state(ctx).settings.data_dir / "keys" / PUBLIC_KEY_FILE


def _public_key(ctx: typer.Context, path: Path | None) -> Any:
    from faceledger.ledger import load_public_key

    if path is None:
        path = _data_dir_public_key(ctx)
    if not path.is_file():
        raise InvalidInput(f"No public key at {path}; pass --public-key.")
    return load_public_key(path)


@ledger_app.command("verify")
def verify(
    ctx: typer.Context,
    export_file: Path | None = typer.Option(
        None, "--export", help="A JSON Lines export to verify (default: the data dir's database)."
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Verify this database instead (SQLAlchemy URL)."
    ),
    tiles: str | None = typer.Option(
        None,
        "--tiles",
        help="Verify a tiled log (C2SP tlog-tiles) instead: a directory from `ledger tiles "
        "export` or a unit's URL (its /checkpoint and /tile/...).",
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="The ledger's public key, PEM (default: the data dir's)."
    ),
    trusted: Path | None = typer.Option(
        None,
        "--trusted-checkpoint",
        help="A checkpoint saved earlier; the log must extend it (detects rollback).",
    ),
    witness_keys: list[str] | None = typer.Option(
        None,
        "--witness-key",
        help="A witness's vkey, or a file holding it (repeat for each witness).",
    ),
    quorum: int | None = typer.Option(
        None,
        "--quorum",
        help="How many of the --witness-key witnesses must have cosigned the latest checkpoint "
        "(default: all of them).",
    ),
    note_file: Path | None = typer.Option(
        None,
        "--checkpoint-note",
        help="With --export and --witness-key: the witnessed checkpoint note saved from the "
        "unit's /checkpoint; the export must contain it as its latest checkpoint.",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Verify every leaf hash, checkpoint signature and root, consistency, seq contiguity and
    key rotation; with --witness-key, also a quorum of witness cosignatures on the latest
    checkpoint (a log shown to one party but not another is refused by the witnesses).

    Exits 0 when the ledger verifies, 2 naming the first failing entry, checkpoint, tile or
    missing witness.
    """
    from faceledger.ledger import Checkpoint, verify_database, verify_export
    from faceledger.ledger.cosignature import load_witness_keys
    from faceledger.ledger.tiles_verify import verify_tiles
    from faceledger.ledger.witnessed import (
        witnessed_database,
        witnessed_export,
        witnessed_note,
    )

    with handled():
        sources = [x for x in (export_file, database_url, tiles) if x is not None]
        if len(sources) > 1:
            raise InvalidInput("Give one of --export, --database-url and --tiles.")
        keys = load_witness_keys(witness_keys or [])
        if (quorum is not None or note_file is not None) and not keys:
            raise InvalidInput("--quorum and --checkpoint-note need at least one --witness-key.")
        if note_file is not None and export_file is None:
            raise InvalidInput(
                "--checkpoint-note goes with --export (tiles and databases carry their own)."
            )
        if keys and export_file is not None and note_file is None:
            raise InvalidInput(
                "An export carries no cosignatures: save the unit's witnessed checkpoint "
                "(GET /checkpoint) and pass it with --checkpoint-note."
            )
        needed = len({k.name for k in keys}) if quorum is None else quorum
        key = _public_key(ctx, public_key)
        trusted_cp = None
        if trusted is not None:
            trusted_cp = Checkpoint.from_json(trusted.read_text(encoding="utf-8"))
        witnessed = None
        if tiles is not None:
            if trusted_cp is not None:
                raise InvalidInput("--trusted-checkpoint goes with --export or --database-url.")
            tiled = verify_tiles(tiles, key)
            if keys:
                witnessed = witnessed_note(tiled.note, keys, needed)
            summary, data = (
                tiled.summary(),
                {
                    "location": tiled.location,
                    "log_id": tiled.log_id,
                    "tree_size": tiled.tree_size,
                    "root_hash": tiled.root_hash,
                    "tiles_checked": tiled.tiles_checked,
                    "bundles_checked": tiled.bundles_checked,
                    "entries_checked": tiled.entries_checked,
                    "keys": list(tiled.keys),
                },
            )
        else:
            if export_file is not None:
                with export_file.open(encoding="utf-8") as lines:
                    report = verify_export(lines, key, trusted_cp)
                if note_file is not None:
                    report, witnessed = witnessed_export(
                        export_file, key, note_file.read_bytes(), keys, needed
                    )
            else:
                url = database_url or state(ctx).settings.db_url
                report = verify_database(url, key, trusted_cp)
                if keys:
                    witnessed = witnessed_database(url, key, report, keys, needed)
            summary, data = report.summary(), dict(report.__dict__)
        if witnessed is not None:
            summary += " " + witnessed.summary()
            data["witnesses"] = list(witnessed.cosigned)
            data["quorum"] = witnessed.quorum
    if as_json:
        print_json({"ok": True, **data, "summary": summary})
    else:
        console.print(f"[green]OK[/] {summary}", highlight=False)


@ledger_app.command("check-proof")
def check_proof(
    ctx: typer.Context,
    bundle: Path = typer.Argument(..., help="An inclusion proof from `faceledger ledger prove`."),
    public_key: Path | None = typer.Option(None, "--public-key", help="Public key, PEM."),
) -> None:
    """Check an inclusion proof with the public key alone."""
    from faceledger.ledger import verify_inclusion_bundle

    with handled():
        key = _public_key(ctx, public_key)
        verify_inclusion_bundle(bundle.read_text(encoding="utf-8"), key)
    console.print(f"[green]OK[/] {bundle} proves its entry is in the signed log.")


@ledger_app.command("check-packet")
def check_packet(
    ctx: typer.Context,
    packet: Path = typer.Argument(
        ..., help="packet.json from `faceledger report disclosure`.", show_default=False
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="The ledger's public key, PEM (default: the data dir's)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a disclosure packet offline, entry by entry and fact by fact, with the public key.

    Exits 0 when the checkpoint, every entry's proof and every fact check out; 2 naming the
    first failing fact or entry.
    """
    from faceledger.reports.disclosure import check_packet as check
    from faceledger.service.disclosures import ACTION_NAMES

    with handled():
        key = _public_key(ctx, public_key)
        try:
            text = packet.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"Cannot read the packet {packet}: {exc}.") from None
        report = check(text, key, ACTION_NAMES)
    if as_json:
        print_json({"ok": True, **report.__dict__, "summary": report.summary()})
    else:
        console.print(f"[green]OK[/] {packet}: {report.summary()}", highlight=False)


@ledger_app.command("public-key")
def public_key_cmd(ctx: typer.Context) -> None:
    """Print the ledger's public key (PEM) for auditors."""
    with handled():
        path = _data_dir_public_key(ctx)
        if not path.is_file():
            raise InvalidInput(f"No public key at {path}; run `faceledger init` first.")
        sys.stdout.write(path.read_text(encoding="utf-8"))
