"""``faceledger report``: the accountability outputs (disclosure packets, transparency reports,
misuse findings), and ``faceledger alerts``. Each command acts as the logged-in user and obeys
the access model; the commands themselves live in one module per output."""

from __future__ import annotations

import typer

report_app = typer.Typer(
    help="Accountability outputs: disclosure packets (R14), transparency reports (R17), "
    "misuse findings (R18).",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help="Alerts raised by violations and misuse findings (R18).", no_args_is_help=True
)
