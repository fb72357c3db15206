"""``faceledger serve`` and ``faceledger demo``: the web service and its demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from faceledger.cli.common import console, err_console, handled, state
from faceledger.cli.evaluate import DEFAULT_LFW, evaluate_to_folder, lfw_request, read_summary
from faceledger.cli.quickstart import DEFAULT_FACES
from faceledger.config import Settings
from faceledger.errors import InvalidInput


def demo_evaluation(settings: Settings, lfw: Path) -> dict[str, Any]:
    """Evaluate the configured model on lfw-dev for the demo's deployment gate (the report is
    kept in the data directory, under ``demo-evaluation/``).

    Raises:
        InvalidInput: if the LFW development set is not at ``lfw``.
    """
    if not (lfw / "people").is_dir():
        raise InvalidInput(
            f"The demo's deployment gate needs an evaluation: the LFW development set is not at "
            f"{lfw}. Point --lfw at it, or pass --evaluation evaluation.json."
        )
    console.print("evaluating the face model on lfw-dev for the deployment gate…")
    out = settings.data_dir / "demo-evaluation"
    report, _ = evaluate_to_folder(settings, lfw_request(lfw.resolve(), out, bootstrap=200))
    return report.to_summary()


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, max=64, help="Server processes; each runs its own face pipeline."
    ),
) -> None:
    """Serve the web pages and REST API; initialises the data directory on first start."""
    from faceledger.server import data_dir_of, prepare
    from faceledger.server import serve as run_server
    from faceledger.service import local_operator

    with handled():
        settings = state(ctx).settings
        prepared = prepare(settings, local_operator().ledger_actor)
    console.print(f"data directory: {data_dir_of(settings)}")
    if prepared.admin_password is not None:
        console.print(
            "[bold]First start: created the administrator account 'admin' with the one-time "
            f"password[/] {prepared.admin_password}\n"
            "  It is shown only now. Log in and change it (faceledger user set-password)."
        )
    profile = prepared.service.policy.active_profile()
    if profile.unsafe:
        err_console.print(f"[bold red]{profile.unsafe_banner}[/]", highlight=False)
    console.print(f"active policy profile: {profile.name}")
    console.print(f"serving on http://{host}:{port}/  (API: http://{host}:{port}/api/v1/docs)")
    run_server(prepared.service, host, port, workers)


def demo(
    ctx: typer.Context,
    faces: Path = typer.Option(DEFAULT_FACES, help="Folder with the example people/ photos."),
    evaluation: Path | None = typer.Option(
        None,
        help="evaluation.json from `faceledger eval` for the deployment gate (default: evaluate "
        "the model on --lfw now, about two minutes).",
    ),
    lfw: Path = typer.Option(DEFAULT_LFW, help="The labelled LFW development set."),
) -> None:
    """Load a labelled demo (gallery, agencies, accounts, a request at each stage) into a new
    data directory; prints the demo passwords once."""
    from faceledger.demo import DEMO_LABEL, load_demo
    from faceledger.server import prepare
    from faceledger.service import local_operator

    with handled():
        settings = state(ctx).settings
        summary = (
            read_summary(evaluation) if evaluation is not None else demo_evaluation(settings, lfw)
        )
        service = prepare(settings, local_operator().ledger_actor, bootstrap=False).service
        try:
            result = load_demo(service, faces.resolve(), summary, lambda line: console.print(line))
        finally:
            service.close()
    console.print(f"[bold yellow]{DEMO_LABEL}[/]")
    console.print(f"administrator: admin / {result.admin_password}")
    console.print(
        f"every other demo account ({', '.join(result.usernames)}): password {result.password}"
    )
    for stage, request_id in result.requests.items():
        console.print(f"  request {request_id}: {stage}")
    console.print("Start the service on this data directory with `faceledger serve`.")
