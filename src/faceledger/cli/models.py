"""CLI commands for face models: stored evaluations, the deployment gate, re-embedding."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from faceledger.cli.common import (
    bounded,
    console,
    path_argument,
    print_json,
    progress_bar,
    run,
)
from faceledger.cli.evaluate import read_summary
from faceledger.cli.faces import JSON_OPTION, gallery_app, local_actor

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

model_app = typer.Typer(
    help="Stored model evaluations (R15, R16) and what the deployment gate activated.",
    no_args_is_help=True,
)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


@model_app.command("evaluations")
def evaluations(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List the stored evaluations with the figures the deployment gate reads."""

    def body(service: FaceLedger) -> int:
        found = service.deployments.evaluations(local_actor())
        if as_json:
            print_json([e.to_dict() for e in found])
            return 0
        table = Table(
            "id", "model", "dataset", "rank-1", "FNIR@FPIR 0.003", "FTE", "labels", "unmeasured"
        )
        for e in found:
            table.add_row(
                str(e.id),
                f"{e.model['name']} {e.model['version']}",
                e.dataset,
                _percent(e.figures.rank1),
                _percent(e.figures.fnir),
                _percent(e.figures.fte),
                e.figures.label_source or "none",
                ", ".join(e.figures.unmeasured) or "-",
            )
        console.print(table)
        return 0

    run(ctx, body)


@model_app.command("store")
def store_evaluation(
    ctx: typer.Context,
    summary: Path = path_argument("evaluation.json written by `faceledger eval`."),
) -> None:
    """Store an evaluation written by `faceledger eval` (its summary), for the gate."""

    def body(service: FaceLedger) -> int:
        view = service.deployments.record_evaluation(local_actor(), read_summary(summary))
        console.print(
            f"stored evaluation {view.id} of {view.model['name']} "
            f"(ledger entry #{view.ledger_seq})",
            highlight=False,
        )
        return 0

    run(ctx, body)


@gallery_app.command("activate")
def gallery_activate(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Gallery."),
    evaluation: int = typer.Option(
        ..., "--evaluation", "-e", help="Stored evaluation id.", callback=bounded()
    ),
    target_fpir: float | None = typer.Option(
        None, "--target-fpir", help="FPIR to calibrate for (default: the profile's)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Activate the gallery's model at a calibrated threshold through the deployment gate."""

    def body(service: FaceLedger) -> int:
        activation = service.deployments.activate(local_actor(), name, evaluation, target_fpir)
        if as_json:
            print_json(activation)
            return 0
        console.print(
            f"{name}: activation {activation['id']}: {activation['model']['name']} with "
            f"evaluation {activation['evaluation_id']}; threshold distance ≤ "
            f"{activation['threshold']:.4f} for FPIR {activation['target_fpir']:g} at "
            f"{activation['gallery_size']} templates (ledger entry #{activation['ledger_seq']})",
            highlight=False,
        )
        if not activation["within_measured_range"]:
            console.print(
                "  the target lies beyond the evaluation's measured range: the most "
                "conservative measured threshold is used",
                highlight=False,
            )
        return 0

    run(ctx, body)


@gallery_app.command("reembed")
def gallery_reembed(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Gallery."),
    model: str = typer.Option(..., "--model", "-m", help="Face pipeline: sface or dlib."),
    drop_failed: bool = typer.Option(
        False, "--drop-failed", help="Remove photos the new model cannot re-embed."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-embed every photo of a gallery with another face model (then activate it again)."""

    def body(service: FaceLedger) -> int:
        from faceledger.biometrics.pipeline import pipeline_for

        pipeline = pipeline_for(service.settings, model)
        detail = service.galleries.gallery_detail(local_actor(), name)
        with progress_bar("re-embedding", disable=as_json) as progress:
            task = progress.add_task("reembed", total=detail["photos"])
            summary = service.galleries.reembed(
                local_actor(),
                name,
                pipeline,
                progress=lambda _: progress.advance(task),
                drop_failed=drop_failed,
            )
        if as_json:
            print_json(summary.to_dict())
            return 0
        console.print(
            f"{name}: {summary.photos} photos re-embedded with {summary.new_model['name']} "
            f"({summary.from_file} from their files, {summary.from_chip} from stored chips); "
            f"ledger entry #{summary.ledger_seq}. Activate the gallery again before searching.",
            highlight=False,
        )
        for photo_id, reason in summary.removed:
            console.print(f"  removed photo {photo_id}: {reason}", highlight=False)
        return 0

    run(ctx, body)
