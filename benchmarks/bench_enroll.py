"""Enrolment throughput on the 54 shared photos, against the face_recognition package.

The baseline is the ``face_recognition`` package (HOG, upsample 1, 5-point model) computing one
encoding per photo, run in this same process and run, so machine noise cancels in the ratios.
faceledger is measured in-process with 1 worker and with every core (a LocalCluster).

Then Dask enrolment (issue 12) on ``--dask-photos`` photos of lfw-dev (the 54 shared ones if it
is absent), each against the in-process rate of the same run: on a running LocalCluster of 1
and of 2 workers (``--cluster`` its address: shipping the pipeline and loading the models on
the workers count, starting the cluster does not), and the default LocalCluster a command
starts for a large job (its start counts). Last, a re-run of those photos once enrolled: hash
first (now) against analyse-then-skip (before issue 12, reconstructed: every photo analysed on
the process pool, then looked up by hash).

    make bench   # builds .venv-baseline with face_recognition, then runs this
    .venv/bin/python benchmarks/bench_enroll.py [--rounds 2] [--baseline-python PATH]
        [--dask-photos 200] [--skip-dask]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import FACES, require_faces
from faceledger import FaceLedger, load_settings
from faceledger.biometrics.image import read_image_file
from faceledger.gallery import store
from faceledger.gallery.analysis import analyse_photo
from faceledger.gallery.executors import local_cluster, map_photos
from faceledger.gallery.sources import EnrolItem, from_folder_tree
from faceledger.governance.accounts import LocalOperator
from faceledger.service.results import EnrolSummary

OPERATOR = LocalOperator("bench")
LFW_PEOPLE = FACES.parent / "lfw-dev" / "people"


def enrol_rate(faces: Path, workers: int) -> float:
    """Return photos per second for enrolling people/ into a fresh data directory."""
    items = from_folder_tree(faces / "people")
    run = enrol_seconds(items, workers=workers)
    assert run.summary.enrolled == len(items), run.summary.to_dict()
    return len(items) / run.seconds


@dataclass(frozen=True)
class Run:
    """One timed enrolment: wall seconds, its summary, and the CPU seconds this process (the
    coordinator) and the Dask workers spent on it."""

    seconds: float
    summary: EnrolSummary
    cpu: float
    worker_cpu: float = 0.0


def workers_cpu(address: str) -> float:
    """CPU seconds used so far by every worker process of the scheduler at ``address``."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        return float(sum(client.run(time.process_time).values()))


def enrol_seconds(
    items: list[EnrolItem], workers: int = 0, scheduler: str = "", rerun: bool = False
) -> Run:
    """Time ``service.galleries.enroll`` of ``items`` in a fresh data directory whose
    coordinator has its models loaded (``rerun``: the second enrolment)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"data_dir": Path(tmp) / "data", "enroll_workers": workers}, environ={}
        )
        service = FaceLedger.initialise(settings, OPERATOR.ledger_actor)
        first = read_image_file(items[0].path, settings.max_image_pixels, settings.max_image_bytes)
        service.context.pipeline.analyse(first)  # load the models first
        if rerun:
            service.galleries.enroll(OPERATOR, "people", items, scheduler="")
        worker_start = workers_cpu(scheduler) if scheduler else 0.0
        start, cpu = time.perf_counter(), time.process_time()
        summary = service.galleries.enroll(OPERATOR, "people", items, scheduler=scheduler)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        worker_cpu = workers_cpu(scheduler) - worker_start if scheduler else 0.0
        service.close()
    return Run(elapsed, summary, cpu, worker_cpu)


def analyse_then_skip_seconds(items: list[EnrolItem]) -> float:
    """Seconds a re-run of ``items`` took before hash-first: analyse every photo on the process
    pool (as enrolment did), then look the analysed hashes up in batches of 64 and skip them."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"data_dir": Path(tmp) / "data"}, environ={})
        service = FaceLedger.initialise(settings, OPERATOR.ledger_actor)
        service.galleries.enroll(OPERATOR, "people", items, scheduler="")
        pipeline = service.context.pipeline
        first = read_image_file(items[0].path, settings.max_image_pixels, settings.max_image_bytes)
        pipeline.analyse(first)
        start = time.perf_counter()
        analysed = [
            a.sha256 or ""
            for a in map_photos(analyse_photo, [i.path for i in items], settings, pipeline)
        ]
        known: set[str] = set()
        with service.context.db.read() as session:
            gallery = store.get_gallery(session, "people")
            for batch in range(0, len(analysed), 64):
                known |= store.known_hashes(session, gallery.id, analysed[batch : batch + 64])
        elapsed = time.perf_counter() - start
        service.close()
    assert len(known) == len(set(analysed)), "the photos were not all known"
    return elapsed


def lfw_items(count: int) -> list[EnrolItem]:
    """The first ``count`` photos of lfw-dev (one subject per person), or [] without it."""
    if not LFW_PEOPLE.is_dir():
        return []
    return from_folder_tree(LFW_PEOPLE)[:count]


def dask_section(faces: Path, count: int) -> None:
    """Print Dask enrolment rates against the in-process rate, and the re-run times."""
    items = lfw_items(count) or from_folder_tree(faces / "people")
    source = "lfw-dev" if LFW_PEOPLE.is_dir() else "the shared photos"
    print(f"Dask enrolment, {len(items)} photos of {source} (load average {load()}):")
    first = enrol_seconds(items, workers=1, scheduler="")
    reference, inline = first.summary, len(items) / first.seconds
    print(
        f"  in this process, 1 core:          {inline:.1f} photos/s  "
        f"({reference.enrolled} enrolled, {reference.total - reference.enrolled} refused); "
        f"CPU a photo {first.cpu / len(items):.3f} s"
    )

    def rate(workers: int, scheduler: str) -> tuple[float, Run]:
        run = enrol_seconds(items, workers=workers, scheduler=scheduler)
        assert run.summary.enrolled == reference.enrolled, run.summary.to_dict()
        return len(items) / run.seconds, run

    for workers in (1, 2):
        with local_cluster(workers) as cluster:  # as enrolment starts one
            on_cluster, run = rate(0, cluster.scheduler_address)
        print(
            f"  Dask LocalCluster, {workers} worker{'s' if workers > 1 else ' '}:     "
            f"{on_cluster:.1f} photos/s  (ratio {on_cluster / inline:.2f}x in-process); "
            f"CPU a photo: workers {run.worker_cpu / len(items):.3f} s, "
            f"coordinator {run.cpu / len(items):.3f} s"
        )
    default, run = rate(0, "")
    print(
        f"  no --cluster (default), started:  {default:.1f} photos/s  "
        f"(ratio {default / inline:.2f}x in-process; start included; "
        f"on {run.summary.analysed_on})"
    )
    # Refused photos are not known after a run, so a re-run analyses them again: leave them out.
    refused = set(reference.no_face) | {p for p, _ in reference.multiple_faces}
    refused |= {p for p, _ in reference.rejected}
    known = [i for i in items if str(i.path) not in refused]
    before = analyse_then_skip_seconds(known)
    rerun = enrol_seconds(known, workers=0, scheduler="", rerun=True)
    after = rerun.seconds
    assert rerun.summary.known_before_analysis == len(known), rerun.summary.to_dict()
    print(f"re-run of {len(known)} known photos (load average {load()}):")
    print(f"  analyse then skip (before):       {before:.2f} s")
    print(
        f"  hash first (now):                 {after:.2f} s  "
        f"({before / after:.0f}x faster; nothing decoded)"
    )


def load() -> str:
    """The 1-minute load average, for reading the figures."""
    return f"{os.getloadavg()[0]:.1f}"


def baseline_rate(faces: Path, python: Path) -> float | None:
    """Return photos per second of face_recognition (load + locate + encode), or None when
    its environment is missing. It runs in its own venv (see baseline_face_recognition.py)."""
    if not python.exists():
        return None
    script = Path(__file__).with_name("baseline_face_recognition.py")
    out = subprocess.run(
        [str(python), str(script), str(faces / "people")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    return float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="repetitions of each measurement")
    parser.add_argument(
        "--baseline-python",
        type=Path,
        default=Path(".venv-baseline/bin/python"),
        help="python of the venv holding face_recognition",
    )
    parser.add_argument(
        "--dask-photos", type=int, default=200, help="lfw-dev photos for the Dask figures"
    )
    parser.add_argument("--skip-dask", action="store_true", help="only the rounds above")
    args = parser.parse_args()
    faces = require_faces()
    cores = os.cpu_count() or 1
    for round_no in range(1, args.rounds + 1):
        base = baseline_rate(faces, args.baseline_python)
        one = enrol_rate(faces, 1)
        many = enrol_rate(faces, cores)
        print(f"round {round_no}:")
        if base is None:
            print(
                "  face_recognition baseline: not installed (pip install --no-deps "
                "face_recognition)"
            )
        else:
            print(f"  face_recognition baseline, 1 core: {base:.1f} photos/s")
        print(
            f"  faceledger enrol, 1 worker:        {one:.1f} photos/s"
            + (f"  (ratio {one / base:.2f}x baseline)" if base else "")
        )
        print(
            f"  faceledger enrol, {cores} workers:       {many:.1f} photos/s  "
            f"(ratio {many / one:.2f}x one worker; a LocalCluster, its start included)"
        )
    if not args.skip_dask:
        dask_section(faces, args.dask_photos)


if __name__ == "__main__":
    main()
