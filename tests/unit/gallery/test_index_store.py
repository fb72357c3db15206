"""The index store: choosing a backend by size, cold starts from files, staleness and crashes
between save steps, incremental changes, background rebuilds with progress and the generation
race, Milvus through the same store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from faceledger.biometrics.pipeline import normalise
from faceledger.errors import ConfigError
from faceledger.gallery.index import VectorChunk
from faceledger.gallery.index_store import IndexStore, array_loader

DIM = 128
WAIT = 60.0  # seconds: a bound for a stuck thread, never a measurement


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    return normalise(np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32))


VECTORS = unit_vectors(400)
IDS = np.arange(1, 401, dtype=np.int64)


def loader_of(count: int, start: int = 0):  # type: ignore[no-untyped-def]
    return array_loader(IDS[start : start + count], VECTORS[start : start + count], 64)


def refuse() -> Iterator[VectorChunk]:
    raise AssertionError("the loader was called: the templates were read from the database")


class Database:
    """Stands in for the templates table: a loader reads whatever it holds when called, and
    can be made to stop after its first chunk until released."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids, self.vectors = ids, vectors
        self.calls = 0
        self.first_chunk = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> Iterator[VectorChunk]:
        self.calls += 1
        ids, vectors = self.ids, self.vectors  # one snapshot per read
        for start in range(0, len(ids), 50):
            yield VectorChunk(ids[start : start + 50], vectors[start : start + 50], len(ids))
            self.first_chunk.set()
            assert self.release.wait(WAIT)


def ids_found(index: object, rows: np.ndarray) -> list[int]:
    return [h[0].template_id if h else -1 for h in index.search(VECTORS[rows], 1)]  # type: ignore[attr-defined]


def current(tmp_path: Path, gallery_id: int = 1) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (tmp_path / f"gallery-{gallery_id}" / "current.json").read_text()
    )
    return loaded


# -- choosing a backend ----------------------------------------------------------------------


def test_auto_is_exact_below_the_threshold_and_ivf_from_it(tmp_path: Path) -> None:
    store = IndexStore(tmp_path, DIM, "auto", approximate_from=100)
    assert store.get(1, 1, loader_of(60)).backend == "faiss-flat"
    big = store.get(2, 1, loader_of(150))
    assert big.backend == "faiss-ivf" and big.approximate
    assert store.backend_for(60, "faiss-ivf") == "faiss-ivf"  # an ivf gallery keeps ivf...
    assert store.backend_for(40, "faiss-ivf") == "faiss-flat"  # ...until under half the line


@pytest.mark.parametrize(
    ("setting", "backend"), [("flat", "faiss-flat"), ("hnsw", "faiss-hnsw"), ("ivf", "faiss-ivf")]
)
def test_an_explicit_backend_overrides_the_size_rule(
    tmp_path: Path, setting: str, backend: str
) -> None:
    store = IndexStore(tmp_path, DIM, setting, approximate_from=100)
    for gallery_id, count in ((1, 60), (2, 150)):
        index = store.get(gallery_id, 1, loader_of(count))
        assert index.backend == backend and len(index) == count


def test_an_unknown_backend_setting_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="index_backend"):
        IndexStore(tmp_path, DIM, "annoy")


def test_a_gallery_growing_past_the_threshold_moves_to_ivf_in_the_background(
    tmp_path: Path,
) -> None:
    store = IndexStore(tmp_path, DIM, "auto", approximate_from=100)
    assert store.get(1, 1, loader_of(60)).backend == "faiss-flat"
    store.apply(1, 1, 2, loader_of(120), add=(IDS[60:120], VECTORS[60:120]))
    job = store.job(1)
    assert job is not None
    assert job.wait(WAIT).state == "done"
    index = store.get(1, 2, refuse)
    assert index.backend == "faiss-ivf" and len(index) == 120
    assert current(tmp_path)["backend"] == "faiss-ivf"


# -- cold start, staleness, crashes ----------------------------------------------------------


def test_a_cold_start_opens_the_files_without_reading_the_database(tmp_path: Path) -> None:
    first = IndexStore(tmp_path, DIM).get(1, 5, loader_of(300))
    reopened = IndexStore(tmp_path, DIM).get(1, 5, refuse)
    assert len(reopened) == len(first) == 300
    rows = np.array([0, 150, 299])
    assert ids_found(reopened, rows) == ids_found(first, rows) == [1, 151, 300]


def test_a_stale_generation_is_rebuilt_from_the_database(tmp_path: Path) -> None:
    IndexStore(tmp_path, DIM).get(1, 5, loader_of(300))
    database = Database(IDS[:40], VECTORS[:40])
    database.release.set()
    index = IndexStore(tmp_path, DIM).get(1, 6, database)  # the database moved on
    assert database.calls == 1 and len(index) == 40
    assert current(tmp_path)["generation"] == 6


@pytest.mark.parametrize(
    "damage", ["meta_behind_index", "torn_meta", "no_meta", "count_mismatch", "torn_manifest"]
)
def test_a_crash_between_save_steps_means_a_rebuild(tmp_path: Path, damage: str) -> None:
    store = IndexStore(tmp_path, DIM)
    store.get(1, 1, loader_of(100))
    meta_path = tmp_path / "gallery-1" / "current.json"
    before = meta_path.read_text()
    store.apply(1, 1, 2, refuse, add=(IDS[100:110], VECTORS[100:110]))
    meta = json.loads(meta_path.read_text())
    if damage == "meta_behind_index":
        meta_path.write_text(before)  # the index files were saved, the meta was not
    elif damage == "torn_meta":
        meta_path.write_text(meta_path.read_text()[:20])
    elif damage == "no_meta":
        meta_path.unlink()
    elif damage == "count_mismatch":
        meta_path.write_text(json.dumps(meta | {"count": 3}))
    else:
        (tmp_path / "gallery-1" / str(meta["directory"]) / "manifest.json").write_text("{")
    database = Database(IDS[:110], VECTORS[:110])
    database.release.set()
    index = IndexStore(tmp_path, DIM).get(1, 2, database)
    assert database.calls == 1 and len(index) == 110
    assert ids_found(index, np.array([105])) == [106]


def test_changes_are_saved_incrementally_and_a_fresh_process_opens_instead_of_rebuilding(
    tmp_path: Path,
) -> None:
    IndexStore(tmp_path, DIM, "ivf").get(1, 1, loader_of(300))
    directory = current(tmp_path)["directory"]
    # Another process (say a CLI enrolment) applies a change: it opens the files at the old
    # generation rather than reading every template.
    IndexStore(tmp_path, DIM, "ivf").apply(
        1, 1, 2, refuse, add=(IDS[300:310], VECTORS[300:310]), remove=[1, 2]
    )
    assert current(tmp_path)["directory"] == directory  # updated in place, not rebuilt
    index = IndexStore(tmp_path, DIM, "ivf").get(1, 2, refuse)
    assert len(index) == 308
    assert ids_found(index, np.array([0, 305]))[1] == 306
    assert ids_found(index, np.array([0]))[0] != 1


def test_an_index_behind_the_change_is_rebuilt(tmp_path: Path) -> None:
    store = IndexStore(tmp_path, DIM)
    store.get(1, 1, loader_of(50))
    store.apply(1, 7, 8, loader_of(3), add=(IDS[:1], VECTORS[:1]))  # another process changed it
    assert len(store.get(1, 8, refuse)) == 3


def test_drop_removes_the_files(tmp_path: Path) -> None:
    store = IndexStore(tmp_path, DIM)
    store.get(1, 1, loader_of(20))
    store.get(2, 1, loader_of(20))
    store.drop(1)
    assert not (tmp_path / "gallery-1").exists() and (tmp_path / "gallery-2").exists()
    database = Database(IDS[:5], VECTORS[:5])
    database.release.set()
    assert len(store.get(1, 1, database)) == 5 and database.calls == 1


# -- background rebuilds ---------------------------------------------------------------------


def test_a_background_rebuild_reports_progress_while_searches_use_the_current_index(
    tmp_path: Path,
) -> None:
    store = IndexStore(tmp_path, DIM)
    store.get(1, 1, loader_of(100))
    old_directory = current(tmp_path)["directory"]
    database = Database(IDS[:200], VECTORS[:200])
    job = store.start_rebuild(1, 1, database)
    assert database.first_chunk.wait(WAIT)
    progress = job.progress()
    assert (progress.state, progress.done, progress.total) == ("loading", 50, 200)
    assert not progress.finished
    assert store.start_rebuild(1, 1, database) is job  # one rebuild at a time
    assert len(store.get(1, 1, refuse)) == 100  # searches go on with the current index
    database.release.set()
    final = job.wait(WAIT)
    assert (final.state, final.done, final.total, final.backend) == (
        "done",
        200,
        200,
        "faiss-flat",
    )
    assert len(store.get(1, 1, refuse)) == 200
    assert current(tmp_path)["directory"] != old_directory
    assert not (tmp_path / "gallery-1" / str(old_directory)).exists()


@pytest.mark.parametrize("seen_by_the_rebuild", [False, True])
def test_a_change_committed_during_a_rebuild_is_not_lost(
    tmp_path: Path, seen_by_the_rebuild: bool
) -> None:
    store = IndexStore(tmp_path, DIM)
    store.get(1, 1, loader_of(100))
    # The change of generation 2: template 301 added, template 1 removed. The rebuild's read
    # began at generation 1; it may or may not see the change (a read is one snapshot).
    if seen_by_the_rebuild:
        database = Database(np.append(IDS[1:100], 301), np.vstack([VECTORS[1:100], VECTORS[300]]))
    else:
        database = Database(IDS[:100], VECTORS[:100])
    job = store.start_rebuild(1, 1, database)
    assert database.first_chunk.wait(WAIT)
    store.apply(1, 1, 2, refuse, add=(IDS[300:301], VECTORS[300:301]), remove=[1])
    assert ids_found(store.get(1, 2, refuse), np.array([300])) == [301]  # applied at once
    database.release.set()
    assert job.wait(WAIT).state == "done"
    index = store.get(1, 2, refuse)
    assert len(index) == 100
    assert ids_found(index, np.array([300, 0]))[0] == 301
    assert ids_found(index, np.array([0]))[0] != 1
    assert current(tmp_path)["generation"] == 2
    cold = IndexStore(tmp_path, DIM).get(1, 2, refuse)
    assert len(cold) == 100 and ids_found(cold, np.array([300])) == [301]


def test_a_rebuild_overtaken_by_a_newer_generation_is_discarded_and_redone(
    tmp_path: Path,
) -> None:
    store = IndexStore(tmp_path, DIM)
    store.get(1, 1, loader_of(100))
    database = Database(IDS[:100], VECTORS[:100])
    job = store.start_rebuild(1, 1, database)
    assert database.first_chunk.wait(WAIT)
    # Another process committed generations 2 and 3 (not through this store): the rebuild
    # for generation 1 cannot be brought up to date by replaying a journal.
    database.ids, database.vectors = IDS[:150], VECTORS[:150]
    assert store.start_rebuild(1, 3, database) is job
    database.release.set()
    final = job.wait(WAIT)
    assert (final.state, final.generation) == ("done", 3)
    assert job.state == "discarded" and database.calls == 2
    assert len(store.get(1, 3, refuse)) == 150


def test_a_failed_rebuild_reports_its_error_and_keeps_the_current_index(tmp_path: Path) -> None:
    store = IndexStore(tmp_path, DIM)
    store.get(1, 1, loader_of(30))

    def broken() -> Iterator[VectorChunk]:
        yield VectorChunk(IDS[:2], np.ones((2, 64), dtype=np.float32), 2)  # wrong dimension

    job = store.start_rebuild(1, 1, broken)
    final = job.wait(WAIT)
    assert final.state == "failed" and "128-d" in (final.error or "")
    assert len(store.get(1, 1, refuse)) == 30
    assert sorted(p.name for p in (tmp_path / "gallery-1").iterdir() if p.is_dir()) == [
        str(current(tmp_path)["directory"])
    ]


# -- Milvus through the store ------------------------------------------------------------------


def test_milvus_galleries_keep_their_generation_in_milvus(tmp_path: Path) -> None:
    uri = str(tmp_path / "milvus.db")
    store = IndexStore(tmp_path / "index", DIM, "milvus", milvus_uri=uri)
    try:
        index = store.get(1, 1, loader_of(80))
        assert index.backend == "milvus" and len(index) == 80
        store.apply(1, 1, 2, refuse, add=(IDS[80:90], VECTORS[80:90]), remove=[1])
    finally:
        store.close()
    store = IndexStore(tmp_path / "index", DIM, "milvus", milvus_uri=uri)
    try:
        index = store.get(1, 2, refuse)  # current: opened, not reloaded
        assert len(index) == 89 and ids_found(index, np.array([85])) == [86]
        assert len(store.get(1, 3, loader_of(20))) == 20  # stale: refilled
        store.drop(1)
    finally:
        store.close()
