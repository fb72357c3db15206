"""CLI commands for the biometric half: enrolment, galleries, search and verify."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from faceledger.cli.common import (
    EXIT_NO_RESULT,
    bounded,
    console,
    path_argument,
    print_json,
    progress_bar,
    run,
)
from faceledger.errors import InvalidInput
from faceledger.gallery.sources import from_folder_tree, from_manifest
from faceledger.governance.accounts import LocalOperator
from faceledger.service.galleries import ENROL_BATCH

if TYPE_CHECKING:
    from faceledger.service import FaceLedger

gallery_app = typer.Typer(
    help="List, inspect and delete galleries, subjects and photos.", no_args_is_help=True
)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")


def local_actor() -> LocalOperator:
    """The local operator of the data directory, for commands run without a login."""
    from faceledger.service import local_operator

    return local_operator()


def enroll(
    ctx: typer.Context,
    source: Path = path_argument("A folder with one sub-folder per subject, or a CSV manifest."),
    gallery: str = typer.Option(..., "--gallery", "-g", help="Gallery to enrol into."),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        metavar="ADDRESS",
        help="Dask scheduler to analyse the photos on (tcp://host:8786); overrides the "
        "dask_scheduler setting. Without one, large jobs use a LocalCluster on this machine.",
    ),
    batch: int = typer.Option(
        ENROL_BATCH, "--batch", min=1, help="Photos written per database transaction."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Enrol photos into a gallery (idempotent: already enrolled photos are skipped unread)."""

    def body(service: FaceLedger) -> int:
        items = from_manifest(source) if source.is_file() else from_folder_tree(source)
        # One row per phase, each labelled with its task's description.
        with progress_bar("{task.description}", disable=as_json) as progress:
            tasks = {
                "hashing": progress.add_task("hashing", total=len(items)),
                "analysing": progress.add_task("analysing", total=None),
            }
            summary = service.galleries.enroll(
                local_actor(),
                gallery,
                items,
                progress=lambda phase, done, total: progress.update(
                    tasks[phase], completed=done, total=total
                ),
                scheduler=cluster,
                batch_size=batch,
            )
        if as_json:
            print_json(summary.to_dict())
            return 0
        table = Table(title=f"Enrolment into {gallery}", show_header=False)
        table.add_row("photos considered", str(summary.total))
        table.add_row("enrolled", str(summary.enrolled))
        table.add_row("new subjects", str(summary.new_subjects))
        table.add_row("duplicates skipped", str(summary.duplicates_skipped))
        table.add_row("  of which known before analysis", str(summary.known_before_analysis))
        table.add_row("no face", str(len(summary.no_face)))
        table.add_row("multiple faces", str(len(summary.multiple_faces)))
        table.add_row("rejected", str(len(summary.rejected)))
        table.add_row("analysed on", summary.analysed_on)
        console.print(table)
        for path in summary.no_face:
            console.print(f"  no face: {path}", highlight=False)
        for path, reason in summary.multiple_faces:
            console.print(f"  multiple faces: {path}: {reason}", highlight=False)
        for path in summary.largest_face_taken:
            console.print(f"  largest of several faces enrolled: {path}", highlight=False)
        for path, reason in summary.rejected:
            console.print(f"  rejected: {path}: {reason}", highlight=False)
        return 0

    run(ctx, body)


@gallery_app.command("list")
def gallery_list(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List galleries with their subject, photo and template counts."""

    def body(service: FaceLedger) -> int:
        galleries = service.galleries.list_galleries(local_actor())
        if as_json:
            print_json([g.to_dict() for g in galleries])
            return 0
        table = Table(
            "gallery", "subjects", "photos", "templates", "model", "activation", "description"
        )
        for g in galleries:
            table.add_row(
                g.name,
                str(g.subjects),
                str(g.photos),
                str(g.templates),
                g.model or "-",
                "-" if g.activation_id is None else str(g.activation_id),
                g.description,
            )
        console.print(table)
        return 0

    run(ctx, body)


@gallery_app.command("create")
def gallery_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Gallery name: lowercase letters, digits, . _ -"),
    description: str = typer.Option("", help="What the gallery holds and where it comes from."),
) -> None:
    """Create an empty gallery."""
    run(
        ctx,
        lambda service: service.galleries.create_gallery(local_actor(), name, description) and 0,
    )


@gallery_app.command("show")
def gallery_show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Gallery name."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a gallery's subjects and photos."""

    def body(service: FaceLedger) -> int:
        detail = service.galleries.gallery_detail(local_actor(), name)
        if as_json:
            print_json(detail)
            return 0
        table = Table("subject", "name", "photo id", "sha256", "source", title=name)
        for subject in detail["subjects"]:
            for photo in subject["photos"]:
                table.add_row(
                    subject["external_id"],
                    subject["display_name"],
                    str(photo["photo_id"]),
                    photo["sha256"][:12],
                    photo["source_uri"],
                )
        console.print(table)
        return 0

    run(ctx, body)


@gallery_app.command("delete")
def gallery_delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Gallery name."),
    subject: str | None = typer.Option(None, help="External id of the subject to delete."),
    photo: int | None = typer.Option(None, help="Id of the photo to delete.", callback=bounded()),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete a subject (with all photos) or one photo; its templates leave the index."""

    def body(service: FaceLedger) -> int:
        if (subject is None) == (photo is None):
            raise InvalidInput("Give exactly one of --subject or --photo.")
        if subject is not None:
            result = service.galleries.delete_subject(local_actor(), name, subject)
        else:
            assert photo is not None
            result = service.galleries.delete_photo(local_actor(), name, photo)
        if as_json:
            print_json(result)
        else:
            console.print(f"deleted: {result}", highlight=False)
        return 0

    run(ctx, body)


@gallery_app.command("reindex")
def gallery_reindex(ctx: typer.Context, name: str = typer.Argument(..., help="Gallery.")) -> None:
    """Rebuild a gallery's vector index from the database, with a progress bar; searches
    keep the current index until the new one is ready."""

    def body(service: FaceLedger) -> int:
        with progress_bar("{task.description}") as progress:
            task = progress.add_task(f"{name}: loading", total=None)
            result = service.galleries.reindex(
                local_actor(),
                name,
                progress=lambda p: progress.update(
                    task, description=f"{name}: {p.state}", completed=p.done, total=p.total or None
                ),
            )
        console.print(f"{name}: {result.done} vectors indexed ({result.backend})")
        return 0

    run(ctx, body)


def print_search(result: Any) -> None:
    """Print a search result as one table per probe face."""
    console.print(
        f"probe {result.probe_sha256[:16]}…  galleries: {', '.join(result.galleries)}  "
        f"threshold: distance ≤ {result.threshold}  ledger entry #{result.ledger_seq}",
        highlight=False,
    )
    for face in result.faces:
        box = face.box
        title = (
            f"face {face.index + 1} at ({box.left},{box.top})-({box.right},{box.bottom}), "
            f"eyes {face.quality.eye_distance_px:.0f} px apart"
        )
        if face.problems:
            console.print(f"{title}: not searched: {'; '.join(face.problems)}", highlight=False)
            continue
        table = Table(
            "rank",
            "subject",
            "name",
            "gallery",
            "distance",
            "similarity",
            "within threshold",
            title=title,
        )
        for c in face.candidates:
            table.add_row(
                str(c.rank),
                c.external_id,
                c.display_name,
                c.gallery,
                f"{c.distance:.3f}",
                f"{c.similarity:.3f}",
                "yes" if c.within_threshold else "",
            )
        console.print(table)
    for point in result.thresholds:
        console.print(f"threshold of {point.gallery}: {point.describe()}", highlight=False)
    console.print("[italic]Candidates are investigative leads only — not an identification.[/]")


def search(
    ctx: typer.Context,
    photo: Path = path_argument("Probe photo."),
    gallery: list[str] = typer.Option(
        [], "--gallery", "-g", help="Gallery to search (repeat; default: all)."
    ),
    top_k: int | None = typer.Option(None, "--top-k", "-k", help="Candidates per face."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Search every face in a photo against galleries. Exit 1 if nothing is within the threshold."""

    def body(service: FaceLedger) -> int:
        result = service.searches.search(local_actor(), photo, gallery, top_k, name=photo.name)
        if as_json:
            print_json(result.to_dict())
        else:
            print_search(result)
        hit = any(c.within_threshold for f in result.faces for c in f.candidates)
        return 0 if hit else EXIT_NO_RESULT

    run(ctx, body)


def verify(
    ctx: typer.Context,
    first: Path = path_argument("First photo (one face)."),
    second: Path = path_argument("Second photo (one face)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Compare the faces of two photos (1:1). Exit 1 if the distance is within threshold."""

    def body(service: FaceLedger) -> int:
        result = service.searches.verify(local_actor(), first, second, (first.name, second.name))
        if as_json:
            print_json(result.to_dict())
        else:
            verdict = "within" if result.within_threshold else "beyond"
            console.print(
                f"distance {result.distance:.3f} (similarity {result.similarity:.3f}) is "
                f"{verdict} the threshold {result.point.describe()}; ledger entry "
                f"#{result.ledger_seq}",
                highlight=False,
            )
        return 0 if result.within_threshold else EXIT_NO_RESULT

    run(ctx, body)
