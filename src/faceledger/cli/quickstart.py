"""``faceledger quickstart``: the first version's command-line main job, for research.

On a fresh data directory of its own it initialises it under the **lab** profile (unsafe,
research only, and said so loudly), enrols the shared example photos and searches a group
photo outside any request. On a data directory that already exists it keeps that directory's
profile: under any profile that is not unsafe the search is refused (exit 2) and the attempt
recorded as a violation, as for ``faceledger search``.
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
    from faceledger.ledger import PRIVATE_KEY_FILE
    from faceledger.service import FaceLedger, local_operator
    from faceledger.service.context import KEYS_DIR

    faces = faces.resolve()
    people, probe = faces / "people", faces / "groups" / "bbt4.jpg"
    if not people.is_dir() or not probe.is_file():
        err_console.print(
            f"[yellow]The example photos are not at {faces}[/] (expected people/ and "
            "groups/bbt4.jpg from the shared data folder). Point --faces at them, or use "
            "`faceledger init`, `faceledger enroll` and `faceledger search` on your own photos."
        )
        raise typer.Exit(2)
    settings, me = state(ctx).settings, local_operator()
    if not (settings.data_dir / KEYS_DIR / PRIVATE_KEY_FILE).exists():
        settings = settings.replace(policy_profile="lab")
    with handled():
        service = FaceLedger.initialise(settings, me.ledger_actor)
        try:
            console.print(f"data directory: {service.settings.data_dir}")
            profile = service.policy.active_profile()
            if profile.unsafe:
                err_console.print(f"[bold red]{profile.unsafe_banner}[/]")
            # Refuse (and record) before enrolling anything: outside the lab, nothing is done.
            service.access.check(me, "search.adhoc")
            summary = service.galleries.enroll(me, gallery, from_folder_tree(people))
            console.print(
                f"enrolled {summary.enrolled} photos ({summary.duplicates_skipped} already "
                f"enrolled, {summary.total - summary.enrolled - summary.duplicates_skipped} "
                f"skipped) into gallery {gallery!r}"
            )
            console.print(f"searching {probe.name}:")
            print_search(service.searches.search(me, probe, [gallery], 5, name=probe.name))
        finally:
            service.close()
