"""``faceledger quickstart``: the main job ``make run`` starts until the web service exists.

Initialises the data directory, enrols the shared example photos and searches a group photo.
"""

from __future__ import annotations

from pathlib import Path

import typer

from faceledger.cli.common import console, err_console, handled, state
from faceledger.cli.faces import print_search

DEFAULT_FACES = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "faces"


def quickstart(
    ctx: typer.Context,
    faces: Path = typer.Option(DEFAULT_FACES, help="Folder with people/ and groups/ photos."),
    gallery: str = typer.Option("example-people", help="Gallery to enrol the photos into."),
) -> None:
    """Initialise, enrol the example photos and search a group photo (the `make run` job)."""
    from faceledger.gallery.sources import from_folder_tree
    from faceledger.service import FaceLedger, local_actor

    faces = faces.resolve()
    people, probe = faces / "people", faces / "groups" / "bbt4.jpg"
    if not people.is_dir() or not probe.is_file():
        err_console.print(
            f"[yellow]The example photos are not at {faces}[/] (expected people/ and "
            "groups/bbt4.jpg from the shared data folder). Point --faces at them, or use "
            "`faceledger init`, `faceledger enroll` and `faceledger search` on your own photos."
        )
        raise typer.Exit(2)
    with handled():
        service = FaceLedger.initialise(state(ctx).settings, local_actor())
        try:
            console.print(f"data directory: {service.settings.data_dir}")
            summary = service.enroll(local_actor(), gallery, from_folder_tree(people))
            console.print(
                f"enrolled {summary.enrolled} photos ({summary.duplicates_skipped} already "
                f"enrolled, {summary.total - summary.enrolled - summary.duplicates_skipped} "
                f"skipped) into gallery {gallery!r}"
            )
            console.print(f"searching {probe.name}:")
            print_search(service.search(local_actor(), probe, [gallery], 5, name=probe.name))
        finally:
            service.close()
