"""``faceledger report disclosure``: a request's disclosure packet (R14) for defence counsel
or the court, produced as the logged-in user (supervisor or auditor) and written as
``packet.pdf``, ``packet.html`` and ``packet.json``. Producing one is recorded in the ledger;
``faceledger ledger check-packet`` checks the JSON bundle offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from faceledger.cli.common import bounded, console, print_json, run
from faceledger.cli.reports import report_app
from faceledger.cli.session import current_user
from faceledger.errors import InvalidInput

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

FILES = ("packet.pdf", "packet.html", "packet.json")


def _folder(out: Path) -> Path:
    """The folder to write into, created if missing; refused if it holds a packet already."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is a file; -o names the folder to write the packet into.")
    taken = [name for name in FILES if (out / name).exists()]
    if taken:
        raise InvalidInput(
            f"{out} already holds {', '.join(taken)}; choose an empty folder, so that no "
            "earlier packet is overwritten.",
            folder=str(out),
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"Cannot create the folder {out}: {exc.strerror}.") from None
    return out


@report_app.command("disclosure")
def disclosure(
    ctx: typer.Context,
    request_id: int = typer.Argument(..., help="Request number.", callback=bounded()),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for packet.pdf, packet.html and packet.json."
    ),
    recipient: str = typer.Option(
        ...,
        "--recipient",
        help="For whom, e.g. 'Defence counsel for R. v. Doe, docket 24-123' (recorded).",
    ),
    purpose: str = typer.Option("", "--purpose", help="Why it is disclosed (recorded)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Produce a request's disclosure packet (R14) as PDF, HTML and JSON (supervisor,
    auditor). Every fact is backed by its ledger entry with an inclusion proof; producing it
    is recorded (who, when, for whom) and marks the request disclosed."""

    def body(service: FaceLedger) -> int:
        me = current_user(ctx, service)
        folder = _folder(out)
        packet = service.disclosures.produce(me, request_id, recipient, purpose)
        html = packet.html()
        (folder / "packet.json").write_text(packet.text, encoding="utf-8")
        (folder / "packet.html").write_text(html, encoding="utf-8")
        (folder / "packet.pdf").write_bytes(packet.pdf(html))
        files = {name: str(folder / name) for name in FILES}
        if as_json:
            print_json(
                {
                    "request_id": packet.request_id,
                    "packet_sha256": packet.sha256,
                    "facts": packet.fact_count,
                    "checkpoint_size": packet.checkpoint_size,
                    "files": files,
                }
            )
            return 0
        console.print(
            f"disclosure packet of request {packet.request_id}: {packet.fact_count} facts, "
            f"proven against the checkpoint of tree size {packet.checkpoint_size}; "
            f"packet.json SHA-256 {packet.sha256}",
            highlight=False,
        )
        for path in files.values():
            console.print(f"  wrote {path}", highlight=False)
        console.print(
            f"check it with: faceledger ledger check-packet {files['packet.json']} "
            "--public-key faceledger.pub",
            highlight=False,
        )
        return 0

    run(ctx, body)
