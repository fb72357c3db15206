"""``faceledger witness ...``: run a witness that cosigns a unit's checkpoints (C2SP tlog-witness).

These commands work on a witness directory, not on a unit's data directory: a witness is run by
someone else (a court clerk, a civil-liberties group) with its own key. They need nothing of
the unit but its public key (``init``) and, in pull mode, its URL (``cosign``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from faceledger.cli.common import EXIT_ERROR, console, err_console, handled

witness_app = typer.Typer(
    help="Run a witness: cosign a unit's checkpoints after checking each extends the last one "
    "(C2SP tlog-witness); refuse and keep evidence of a split view.",
    no_args_is_help=True,
)

DIRECTORY = typer.Argument(..., help="The witness directory.", resolve_path=True)


@witness_app.command("init")
def init(
    directory: Path = DIRECTORY,
    name: str = typer.Option(
        ..., "--name", help="The witness's key name, e.g. witness.example.org/court-clerk."
    ),
    log_key: Path = typer.Option(
        ...,
        "--log-key",
        exists=True,
        dir_okay=False,
        help="The unit's ledger public key (PEM; `faceledger ledger public-key`).",
    ),
    log_id: str | None = typer.Option(
        None,
        "--log-id",
        help="The log's origin line (default: faceledger/<key id>, a unit's default log id).",
    ),
) -> None:
    """Create a witness directory: its own key (0600, never replaced), its vkey, and the log."""
    from faceledger.ledger import load_public_key
    from faceledger.witness.state import PRIVATE_KEY_FILE, VKEY_FILE, WitnessDir

    with handled():
        witness = WitnessDir.create(directory, name, load_public_key(log_key), log_id)
    origin = next(iter(witness.logs))
    console.print(f"witness {witness.name} created in {directory}", highlight=False)
    console.print(f"  its key:  {directory / PRIVATE_KEY_FILE} (keep it private)", highlight=False)
    console.print(f"  witnesses the log {origin}", highlight=False)
    console.print(
        f"  its vkey ({directory / VKEY_FILE}), for the unit's witness_keys setting and "
        "for auditors:",
        highlight=False,
    )
    sys.stdout.write(witness.identity.vkey() + "\n")


@witness_app.command("serve")
def serve(
    directory: Path = DIRECTORY,
    port: int = typer.Option(..., "--port", min=0, max=65535, help="Port (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
) -> None:
    """Serve POST /add-checkpoint until stopped (SIGTERM or Ctrl-C); prints its URL when ready."""
    from faceledger.witness.server import make_server
    from faceledger.witness.server import serve as run_server
    from faceledger.witness.state import WitnessDir

    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    with handled():
        witness = WitnessDir.open(directory)
    try:
        server = make_server(witness, host, port)
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] cannot listen on {host}:{port}: {exc.strerror}")
        raise typer.Exit(EXIT_ERROR) from None

    def ready(url: str) -> None:
        sys.stdout.write(f"witness {witness.name} listening on {url}\n")
        sys.stdout.flush()

    run_server(server, ready)


@witness_app.command("cosign")
def cosign(
    directory: Path = DIRECTORY,
    log: str = typer.Option(
        ..., "--log", help="The unit's URL, e.g. https://faceledger.example (its API is /api/v1)."
    ),
) -> None:
    """Pull mode: fetch the unit's latest checkpoint and proof, check, cosign, post it back.

    Exits 2, naming it, on a split view, a rollback or a proof that does not verify (the
    evidence is kept in DIR/evidence).
    """
    from faceledger.witness.pull import cosign_from_unit
    from faceledger.witness.state import WitnessDir

    with handled():
        result = cosign_from_unit(WitnessDir.open(directory), log)
    console.print(result.summary(), highlight=False)
