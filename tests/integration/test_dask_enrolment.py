"""Bulk enrolment on Dask: hash first, analyse on a real cluster, write in batches, resume.

Real parts throughout: a real ``distributed.LocalCluster`` (worker processes), real databases,
the real CLI as a process for the kill -9. The FAKE pipeline (tests/fakes.py) stands in where
the model is not the point; the CLI runs the real default model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from typer.testing import CliRunner

from faceledger import FaceLedger
from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.models import ModelInfo
from faceledger.biometrics.pipeline import FacePipeline
from faceledger.cli import app
from faceledger.config import Settings
from faceledger.gallery.analysis import analyse_photo, photo_sha256
from faceledger.gallery.executors import IN_FLIGHT_PER_THREAD, LOCAL_CLUSTER_FROM, photo_runner
from faceledger.gallery.sources import EnrolItem, from_folder_tree
from tests import rawsql
from tests.conftest import ACTOR, GALLERY, make_settings
from tests.fakes import FAKE_DETECTOR, FakeEmbedder, fake_pipeline

runner = CliRunner()


class RefusingDetector:
    """A detector that fails the test if the pipeline is ever asked to look at a photo."""

    @property
    def model(self) -> ModelInfo:
        return FAKE_DETECTOR

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        raise AssertionError("a known photo was analysed")


def refusing_pipeline() -> FacePipeline:
    """The FAKE pipeline's model identity, with a detector that must never be called."""
    fake = fake_pipeline()
    return FacePipeline(RefusingDetector(), FakeEmbedder(), fake.thresholds)


def fake_service(data_dir: Path, **overrides: object) -> FaceLedger:
    """A fresh data directory with the FAKE pipeline."""
    settings = make_settings(data_dir, **overrides)
    FaceLedger.initialise(settings, ACTOR.ledger_actor).close()
    return FaceLedger(settings, pipeline=fake_pipeline())


def enrolled(settings: Settings) -> set[tuple[str, str]]:
    """Every (subject external id, photo sha256) in the data directory's database."""
    found = rawsql.rows(
        settings.db_url,
        "SELECT s.external_id, p.sha256 FROM photos p JOIN subjects s ON s.id = p.subject_id",
    )
    return {(str(subject), str(sha256)) for subject, sha256 in found}


def counts(settings: Settings) -> dict[str, int]:
    """Rows of each gallery table, and gallery.enroll entries."""
    url = settings.db_url
    tables = ("galleries", "subjects", "photos", "templates")
    found = {t: int(rawsql.scalar(url, f"SELECT count(*) FROM {t}")) for t in tables}
    found["enroll_entries"] = len(enroll_entry_hashes(settings))
    return found


def enroll_entry_hashes(settings: Settings) -> list[str]:
    """The photo_sha256 of every gallery.enroll ledger entry, in ledger order."""
    payloads = rawsql.rows(
        settings.db_url,
        "SELECT payload FROM ledger_entries WHERE action = 'gallery.enroll' ORDER BY seq",
    )
    return [json.loads(p)["photo_sha256"] for (p,) in payloads]


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def small_tree(faces_dir: Path, root: Path, *names: str) -> Path:
    """A folder tree of a few subjects of the shared photos."""
    for name in names:
        shutil.copytree(faces_dir / "people" / name, root / name)
    return root


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a real two-worker LocalCluster started by the test, as a remote
    scheduler would be."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # None would mean port 8787, and a warning if it is taken
        silence_logs=logging.ERROR,
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_the_hash_taken_first_is_the_hash_the_pipeline_records(faces_dir: Path) -> None:
    settings = make_settings(faces_dir / "unused")
    pipeline = fake_pipeline()
    for path in sorted((faces_dir / "people").glob("*/*"))[:6]:
        assert photo_sha256(path) == analyse_photo(path, pipeline, settings).sha256
    assert photo_sha256(faces_dir / "people" / "no-such-photo.jpg") is None
    one = next((faces_dir / "people").glob("*/*"))
    assert photo_sha256(one, max_bytes=one.stat().st_size - 1) is None


def test_a_local_cluster_enrols_what_one_process_does(faces_dir: Path, tmp_path: Path) -> None:
    items = from_folder_tree(faces_dir / "people")
    assert len(items) >= LOCAL_CLUSTER_FROM  # large enough for the LocalCluster by default
    results = {}
    for workers in (1, 2):
        service = fake_service(tmp_path / f"workers-{workers}", enroll_workers=workers)
        try:
            summary = service.galleries.enroll(ACTOR, GALLERY, items)
        finally:
            service.close()
        assert summary.enrolled == 54 and summary.known_before_analysis == 0
        results[workers] = (summary, service.context.settings)
    (inline, inline_settings), (dask, dask_settings) = results[1], results[2]
    assert inline.analysed_on == "this process"
    assert dask.analysed_on.startswith("Dask LocalCluster tcp://127.0.0.1:")
    assert dask.analysed_on.endswith("(2 workers)")
    assert (dask.new_subjects, dask.total) == (inline.new_subjects, inline.total)
    assert counts(dask_settings) == counts(inline_settings)
    assert enrolled(dask_settings) == enrolled(inline_settings)
    assert len(enrolled(dask_settings)) == 54


def test_a_rerun_skips_every_known_photo_before_any_analysis(
    faces_dir: Path, tmp_path: Path
) -> None:
    service = fake_service(tmp_path / "data", enroll_workers=1)
    items = from_folder_tree(faces_dir / "people")
    try:
        assert service.galleries.enroll(ACTOR, GALLERY, items).enrolled == 54
        before = counts(service.context.settings)
    finally:
        service.close()
    settings = make_settings(tmp_path / "data", enroll_workers=2)
    again = FaceLedger(settings, pipeline=refusing_pipeline())  # any analysis fails the test
    phases: list[tuple[str, int, int]] = []
    try:
        summary = again.galleries.enroll(
            ACTOR, GALLERY, items, progress=lambda *step: phases.append(step)
        )
    finally:
        again.close()
    assert summary.enrolled == 0
    assert summary.known_before_analysis == summary.duplicates_skipped == 54
    assert summary.analysed_on == "nowhere (no job)"  # no cluster was even started
    assert phases[0] == ("hashing", 0, 54) and ("hashing", 54, 54) in phases
    assert phases[-1] == ("analysing", 0, 0)
    assert counts(settings) == before


def test_the_same_bytes_twice_in_one_run_are_analysed_and_enrolled_once(
    faces_dir: Path, tmp_path: Path
) -> None:
    people = faces_dir / "people"
    photo = people / "obama" / "obama1.jpg"
    items = [
        EnrolItem(photo, "obama", "Obama"),
        EnrolItem(people / "biden" / "biden1.jpg", "biden", "Biden"),
        EnrolItem(photo, "someone-else", "Someone Else"),  # same bytes, other subject
    ]
    service = fake_service(tmp_path / "data")
    analysed: list[str] = []
    try:
        summary = service.galleries.enroll(
            ACTOR,
            GALLERY,
            items,
            progress=lambda phase, done, total: analysed.append(f"{phase} {done}/{total}"),
        )
    finally:
        service.close()
    assert (summary.enrolled, summary.duplicates_skipped, summary.known_before_analysis) == (
        2,
        1,
        1,
    )
    assert analysed[-1] == "analysing 2/2"  # the repeat never reached the pipeline
    assert {s for s, _ in enrolled(service.context.settings)} == {"obama", "biden"}


def test_an_index_left_behind_by_a_kill_is_rebuilt_on_next_use(
    faces_dir: Path, tmp_path: Path
) -> None:
    """A kill between a batch's commit and its index save leaves the index files of an older
    generation: the store sees it and rebuilds from the database."""
    items = from_folder_tree(faces_dir / "people")
    service = fake_service(tmp_path / "data", enroll_workers=1)
    index_dir = service.context.settings.data_dir / "index"
    try:
        service.galleries.enroll(ACTOR, GALLERY, items[:20])
        shutil.copytree(index_dir, tmp_path / "index-after-20")
        service.galleries.enroll(ACTOR, GALLERY, items[20:])
    finally:
        service.close()
    shutil.rmtree(index_dir)
    shutil.copytree(tmp_path / "index-after-20", index_dir)  # as if the last saves never ran
    assert indexed(service.context.settings, fake_pipeline()) == 54


def indexed(settings: Settings, pipeline: FacePipeline | None = None) -> int:
    """Vectors in the gallery's index as a fresh service finds it on first use."""
    service = FaceLedger(settings, pipeline=pipeline)
    try:
        ctx = service.context
        gallery_id, generation = rawsql.rows(
            settings.db_url, "SELECT id, generation FROM galleries WHERE name = :n", n=GALLERY
        )[0]
        return len(ctx.indexes.get(gallery_id, generation, ctx.vectors_of(gallery_id)))
    finally:
        service.close()


def scheduler_tasks(address: str) -> int:
    """How many tasks the scheduler holds right now (queued, running or in memory)."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        return int(client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)))


def test_jobs_stream_through_a_bounded_window_and_stop_cleanly(
    scheduler: str, tmp_path: Path
) -> None:
    paths = [tmp_path / f"missing-{i}.jpg" for i in range(500)]  # quick jobs: nothing to read
    window = IN_FLIGHT_PER_THREAD * 2  # two one-thread workers
    with photo_runner(make_settings(tmp_path / "data"), scheduler) as jobs:
        results = jobs.run(analyse_photo, paths, fake_pipeline())
        first = [next(results) for _ in range(5)]
        assert scheduler_tasks(scheduler) <= 2 * window + 1  # never 500 futures at once
        results.close()  # the caller stops early
    assert len({a.path for a in first}) == 5 and {a.path for a in first} <= set(paths)
    assert {a.error_code for a in first} == {"invalid_image"}
    deadline = time.monotonic() + 30
    while scheduler_tasks(scheduler) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert scheduler_tasks(scheduler) == 0, "tasks were left on the cluster"


def test_the_cluster_flag_runs_on_the_named_scheduler_over_the_setting(
    faces_dir: Path, tmp_path: Path, scheduler: str
) -> None:
    tree = small_tree(faces_dir, tmp_path / "people", "obama", "biden")
    data_dir = tmp_path / "data"
    make_settings(data_dir)
    assert cli(data_dir, "init")[0] == 0
    unreachable = {"FACELEDGER_DASK_SCHEDULER": "tcp://127.0.0.1:1"}
    code, out, err = cli(
        data_dir, "enroll", str(tree), "-g", "g", "--cluster", scheduler, "--json", env=unreachable
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["enrolled"] == 6
    assert summary["analysed_on"] == f"Dask scheduler {scheduler} (2 workers)"
    # The setting alone names the scheduler too (a re-run: nothing left to analyse there).
    code, out, err = cli(
        data_dir,
        "enroll",
        str(tree),
        "-g",
        "g",
        "--json",
        env={"FACELEDGER_DASK_SCHEDULER": scheduler},
    )
    assert code == 0, err
    again = json.loads(out)
    assert (again["enrolled"], again["known_before_analysis"]) == (0, 6)
    assert again["analysed_on"].startswith(f"Dask scheduler {scheduler}")


def test_an_unreachable_cluster_is_a_clear_error_and_nothing_is_written(
    faces_dir: Path, tmp_path: Path
) -> None:
    tree = small_tree(faces_dir, tmp_path / "people", "obama")
    data_dir = tmp_path / "data"
    settings = make_settings(data_dir)
    assert cli(data_dir, "init")[0] == 0
    entries = rawsql.scalar(settings.db_url, "SELECT count(*) FROM ledger_entries")
    code, _, err = cli(data_dir, "enroll", str(tree), "-g", "g", "--cluster", "tcp://127.0.0.1:1")
    assert code == 2
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in err
    assert rawsql.scalar(settings.db_url, "SELECT count(*) FROM ledger_entries") == entries
    assert counts(settings)["galleries"] == 0


def faceledger(data_dir: Path, *args: str) -> list[str]:
    """The command line of the installed CLI on ``data_dir``."""
    return [str(Path(sys.executable).with_name("faceledger")), "--data-dir", str(data_dir), *args]


def wait_until(check: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll ``check`` until it holds; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not check():
        assert process.poll() is None, "the enrolment ended before it could be killed"
        assert time.monotonic() < deadline, f"nothing was committed in {timeout} s"
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_minus_nine_then_resume_ends_as_an_uninterrupted_run(
    faces_dir: Path, tmp_path: Path
) -> None:
    """The CLI (real model, default LocalCluster) killed with its workers once at least one
    batch is committed; the same command then finishes the job, nothing twice, nothing lost."""
    source = faces_dir / "people"
    reference = make_settings(tmp_path / "reference", enroll_workers=1)
    service = FaceLedger.initialise(reference, ACTOR.ledger_actor)  # the real model
    try:
        assert service.galleries.enroll(ACTOR, GALLERY, from_folder_tree(source)).enrolled == 54
    finally:
        service.close()

    killed = make_settings(tmp_path / "killed")
    FaceLedger.initialise(killed, ACTOR.ledger_actor).close()
    enrol = faceledger(killed.data_dir, "enroll", str(source), "-g", GALLERY, "--batch", "4")

    def photos() -> int:
        return int(rawsql.scalar(killed.db_url, "SELECT count(*) FROM photos"))

    process = subprocess.Popen(
        enrol,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the CLI, the cluster, the workers
    )
    try:
        wait_until(lambda: photos() >= 4, process, timeout=90)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    at_kill = photos()
    assert 4 <= at_kill < 54, "the kill came too late to interrupt anything"
    assert indexed(killed) == at_kill  # whatever the kill left, the index follows

    resumed = subprocess.run([*enrol, "--json"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["known_before_analysis"] == at_kill
    assert summary["enrolled"] == 54 - at_kill
    assert counts(killed) == counts(reference)
    assert enrolled(killed) == enrolled(reference)
    hashes = enroll_entry_hashes(killed)
    assert len(hashes) == len(set(hashes)) == 54
    code, out, err = cli(killed.data_dir, "ledger", "verify")
    assert code == 0, out + err
    assert out.startswith("OK Verified")
