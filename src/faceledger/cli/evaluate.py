"""``faceledger eval``: accuracy in NIST terms (R15) with demographic differentials (R16).

The command body is :func:`evaluate_to_folder`, a plain function returning the report and
where its files went, so another command (or a ``--store`` option) can reuse it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from faceledger.cli.common import console, handled, progress_bar, run, state
from faceledger.config import Settings
from faceledger.errors import InvalidInput

if TYPE_CHECKING:
    from faceledger.reports.evaluation.report import WrittenReport
    from faceledger.reports.evaluation.results import EvaluationReport
    from faceledger.service import FaceLedger

FACE_CHOICES = ("largest", "centre")
LABEL_SOURCE_CHOICES = ("self-reported", "perceived", "predicted")
PIPELINE_CHOICES = ("sface", "dlib")


@dataclass(frozen=True)
class EvaluateRequest:
    """What ``faceledger eval`` was asked to do."""

    dataset: Path
    out: Path
    pairs: Path | None = None
    labels: Path | None = None
    label_source: str | None = None
    group_columns: tuple[str, ...] = ()
    face: str = "largest"
    bootstrap: int = 1000
    threshold: float | None = None
    pipeline: str | None = None
    limit_identities: int | None = None
    quiet: bool = False


DEFAULT_LFW = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "lfw-dev"
LFW_GROUP_COLUMNS = ("sex_id", "race_id", "age_group_id")


def lfw_request(
    lfw: Path, out: Path, bootstrap: int = 1000, quiet: bool = False
) -> EvaluateRequest:
    """The evaluation of lfw-dev as its README describes it: people and distractors, the
    labelled centre face, the predicted demographic labels of ``labels.csv``."""
    return EvaluateRequest(
        dataset=lfw,
        out=out,
        labels=lfw / "labels.csv",
        label_source="predicted",
        group_columns=LFW_GROUP_COLUMNS,
        face="centre",
        bootstrap=bootstrap,
        quiet=quiet,
    )


def read_summary(path: Path) -> dict[str, Any]:
    """Read an evaluation summary from ``evaluation.json`` (or a bare summary file).

    Raises:
        InvalidInput: if the file cannot be read or holds no summary object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"Cannot read the evaluation {path}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("summary"), dict):
        data = data["summary"]
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} does not hold an evaluation summary (a JSON object).")
    return data


def _choice(value: str | None, choices: tuple[str, ...], option: str) -> None:
    if value is not None and value not in choices:
        raise InvalidInput(f"{option} must be one of {', '.join(choices)}, not {value!r}.")


def settings_for(settings: Settings, pipeline: str | None) -> Settings:
    """Return ``settings`` with the ``--pipeline`` override applied, if one was given.

    Raises:
        InvalidInput: for a pipeline name that is not sface or dlib.
    """
    if pipeline is None:
        return settings
    _choice(pipeline, PIPELINE_CHOICES, "--pipeline")
    return settings.replace(pipeline=pipeline)


def evaluate_to_folder(
    settings: Settings, request: EvaluateRequest
) -> tuple[EvaluationReport, WrittenReport]:
    """Load the set, evaluate it with the configured pipeline and write the report folder.

    Raises:
        FaceLedgerError: (InvalidInput, ConfigError) with a message naming the bad file,
            column or option.
    """
    from faceledger.reports.evaluation import (
        EvaluationOptions,
        load_folder,
        read_labels,
        run_evaluation,
        write_report,
    )
    from faceledger.reports.evaluation.demographics import check_label_source

    _choice(request.face, FACE_CHOICES, "--face")
    settings = settings_for(settings, request.pipeline)
    if not request.dataset.is_dir():
        raise InvalidInput(f"Dataset folder {request.dataset} does not exist.")
    labels = None
    if request.labels is not None:
        check_label_source(request.label_source)
        if not request.labels.is_file():
            raise InvalidInput(f"Labels file {request.labels} does not exist.")
        labels = read_labels(request.labels)
    elif request.group_columns or request.label_source:
        raise InvalidInput("--group-columns and --label-source need --labels CSV.")
    if request.pairs is not None and not request.pairs.is_file():
        raise InvalidInput(f"Pairs file {request.pairs} does not exist.")
    dataset = load_folder(request.dataset, request.pairs, request.limit_identities)
    options = EvaluationOptions(
        face_choice="centre" if request.face == "centre" else "largest",
        replicates=request.bootstrap,
        threshold=request.threshold,
        labels=labels,
        label_source=request.label_source,
        group_columns=request.group_columns,
    )
    with progress_bar("embedding", disable=request.quiet) as progress:
        task = progress.add_task("embed", total=len(dataset.photos))
        report = run_evaluation(settings, dataset, options, progress=lambda: progress.advance(task))
    return report, write_report(report, request.out)


def print_report(report: EvaluationReport, written: WrittenReport) -> None:
    """Print the headline figures and where the files went."""
    s = report.to_summary()
    one, n, fte = s["one_to_one"], s["one_to_n"], s["fte"]
    table = Table(title=f"Evaluation of {s['dataset']['name']}", show_header=False)
    table.add_row("photos / identities", f"{s['dataset']['photos']} / {s['dataset']['identities']}")
    table.add_row("failure to enrol", f"{fte['failed']} ({100 * fte['rate']:.2f}%)")
    table.add_row("EER", f"{100 * one['eer']:.2f}% at distance {one['eer_threshold']:.4f}")
    table.add_row("rank-1", f"{100 * n['rank1']:.2f}% (gallery {n['gallery_size']})")
    for target, point in n["fnir_at_fpir"].items():
        flag = "" if point["within_measured_range"] else " (target below measured range)"
        table.add_row(
            f"FNIR @ FPIR={target}",
            f"{100 * point['fnir']:.2f}% at distance {point['threshold']:.4f}{flag}",
        )
    demo = s["demographics"]
    if demo is not None:
        table.add_row("label source", demo["label_source"])
        for key in ("max_fmr_ratio", "max_fnmr_ratio"):
            value = demo[key]
            table.add_row(key.replace("_", " "), "n/a" if value is None else f"{value:.2f}")
    console.print(table)
    console.print(f"report: {written.html}", highlight=False)
    console.print(f"files: {written.folder} ({len(written.files)} files)", highlight=False)


def _columns(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


def evaluate(
    ctx: typer.Context,
    dataset: Path = typer.Argument(
        ..., help="Folder with people/<Name>/*.jpg [+ distractors/<Name>/*.jpg]."
    ),
    pairs: Path | None = typer.Option(
        None, "--pairs", help="CSV file_x,file_y,same: 1:1 from these pairs, not all pairs."
    ),
    labels: Path | None = typer.Option(
        None, "--labels", help="Labels CSV: 'file' (relative to people/ or distractors/) + groups."
    ),
    label_source: str | None = typer.Option(
        None, "--label-source", help="Where labels come from: self-reported, perceived, predicted."
    ),
    group_columns: str | None = typer.Option(
        None, "--group-columns", help="Comma-separated label columns, e.g. sex_id,race_id."
    ),
    face: str = typer.Option("largest", "--face", help="Face to evaluate: largest or centre."),
    out: Path = typer.Option(Path("evaluation"), "--out", help="Folder for the report files."),
    bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap replicates.", min=1),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Operating distance for the demographic table."
    ),
    pipeline: str | None = typer.Option(None, "--pipeline", help="Face pipeline: sface or dlib."),
    limit_identities: int | None = typer.Option(
        None, "--limit-identities", help="Use only the first N identities of each part.", min=1
    ),
    store: bool = typer.Option(
        False,
        "--store",
        help="Also store the evaluation in the data directory, for the deployment gate.",
    ),
) -> None:
    """Measure accuracy (FNIR at FPIR, CMC, EER, FTE) and demographic differentials."""
    request = EvaluateRequest(
        dataset=dataset,
        out=out,
        pairs=pairs,
        labels=labels,
        label_source=label_source,
        group_columns=_columns(group_columns),
        face=face,
        bootstrap=bootstrap,
        threshold=threshold,
        pipeline=pipeline,
        limit_identities=limit_identities,
    )
    with handled():
        report, written = evaluate_to_folder(state(ctx).settings, request)
        print_report(report, written)
    if store:
        from faceledger.service import local_operator

        def body(service: FaceLedger) -> int:
            view = service.deployments.record_evaluation(local_operator(), report.to_summary())
            console.print(
                f"stored as evaluation {view.id} (ledger entry #{view.ledger_seq}); activate it "
                f"with `faceledger gallery activate GALLERY --evaluation {view.id}`",
                highlight=False,
            )
            return 0

        run(ctx, body)
