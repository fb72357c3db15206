"""The FAISS indexes' files: atomic saves, removed vectors scrubbed from disk, incremental
saves, the untrained IVF, and refusing files that are not theirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceledger.biometrics.pipeline import normalise
from faceledger.errors import InvalidInput
from faceledger.gallery.faiss_indexes import (
    FaissFlatIndex,
    FaissHnswIndex,
    FaissIvfIndex,
    IvfParameters,
)

DIM = 128
CLASSES = [FaissFlatIndex, FaissHnswIndex, FaissIvfIndex]
Index = FaissFlatIndex | FaissHnswIndex | FaissIvfIndex


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    return normalise(np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32))


def manifest(directory: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((directory / "manifest.json").read_text())
    return loaded


def on_disk(directory: Path) -> np.ndarray:
    return np.fromfile(directory / "vectors.f32", dtype="<f4").reshape(-1, DIM)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.backend)
def test_a_save_that_stops_before_its_manifest_leaves_the_old_index(
    cls: type[Index], tmp_path: Path
) -> None:
    vectors = unit_vectors(120)
    index = cls.build(tmp_path, DIM, np.arange(100, dtype=np.int64), vectors[:100])
    index.save()
    # A later save dies after writing its data, before the manifest is replaced: new rows in
    # vectors.f32, a new ids file, a half-written manifest.
    index.add(np.arange(100, 120, dtype=np.int64), vectors[100:])
    index.remove([0, 1])
    (tmp_path / "ids-00000099.i64").write_bytes(b"\x01" * 64)
    (tmp_path / "manifest.json.tmp").write_text('{"format": 1, "rows": 1')
    reopened = cls.open(tmp_path, DIM)
    assert len(reopened) == 100
    assert reopened.search(vectors[:1], 1)[0][0].template_id == 0
    assert reopened.search(vectors[110:111], 1)[0][0].template_id != 110
    # The reopened index overwrites the leftovers and saves cleanly.
    reopened.add(np.array([500], dtype=np.int64), vectors[110:111])
    reopened.save()
    again = cls.open(tmp_path, DIM)
    assert len(again) == 101
    assert again.search(vectors[110:111], 1)[0][0].template_id == 500
    assert not (tmp_path / "manifest.json.tmp").exists()
    assert not (tmp_path / "ids-00000099.i64").exists()
    assert on_disk(tmp_path).shape == (101, DIM)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.backend)
def test_a_removed_face_leaves_no_vector_on_disk(cls: type[Index], tmp_path: Path) -> None:
    vectors = unit_vectors(60)
    index = cls.build(tmp_path, DIM, np.arange(10, 70, dtype=np.int64), vectors)
    index.save()
    assert np.any(on_disk(tmp_path)[5])
    index.remove([15])  # row 5
    assert np.any(on_disk(tmp_path)[5])  # not yet committed: the old state stays whole
    index.save()
    stored = on_disk(tmp_path)
    assert not np.any(stored[5])
    assert np.all(np.any(stored[np.arange(60) != 5], axis=1))
    ids = np.fromfile(tmp_path / str(manifest(tmp_path)["ids_file"]), dtype="<i8")
    assert ids[5] == -1 and ids[6] == 16


def test_a_save_after_additions_keeps_the_faiss_file_and_a_removal_rewrites_it(
    tmp_path: Path,
) -> None:
    vectors = unit_vectors(3000)
    index = FaissIvfIndex.build(tmp_path, DIM, np.arange(2500, dtype=np.int64), vectors[:2500])
    index.save()
    first = manifest(tmp_path)["files"]
    index.add(np.arange(2500, 3000, dtype=np.int64), vectors[2500:])
    index.save()
    assert manifest(tmp_path)["files"] == first  # appended rows only
    assert FaissIvfIndex.open(tmp_path, DIM).search(vectors[2999:], 1)[0][0].template_id == 2999
    index.remove([2999])
    index.save()
    assert manifest(tmp_path)["files"] != first
    assert not (tmp_path / str(first["index"])).exists()  # type: ignore[index]
    assert len(FaissIvfIndex.open(tmp_path, DIM)) == 2999


def test_ivf_searches_exactly_until_it_has_enough_to_train(tmp_path: Path) -> None:
    vectors = unit_vectors(IvfParameters.MIN_TRAIN + 100)
    small = 100
    index = FaissIvfIndex.build(tmp_path, DIM, np.arange(small, dtype=np.int64), vectors[:small])
    assert index.describe()["parameters"]["trained"] is False
    assert [h.template_id for h in index.search(vectors[:3], 1)[0]] == [0]
    index.save()
    index = FaissIvfIndex.open(tmp_path, DIM)
    index.add(np.arange(small, len(vectors), dtype=np.int64), vectors[small:])
    parameters = index.describe()["parameters"]
    assert parameters["trained"] is True and parameters["nlist"] >= 1
    index.save()
    reopened = FaissIvfIndex.open(tmp_path, DIM)
    assert reopened.describe()["parameters"] == parameters
    assert len(reopened) == len(vectors)
    assert reopened.search(vectors[-1:], 1)[0][0].template_id == len(vectors) - 1


@pytest.mark.parametrize(
    ("n", "nlist", "nprobe"),
    [(10, 1, 1), (2_000, 51, 16), (1_000_000, 4000, 1000), (10_000_000, 8192, 2048)],
)
def test_ivf_parameters_follow_the_gallery_size(n: int, nlist: int, nprobe: int) -> None:
    params = IvfParameters.for_size(n)
    assert (params.nlist, params.nprobe, params.trained_on) == (nlist, nprobe, n)


def test_search_parameters_can_be_tuned_and_are_saved(tmp_path: Path) -> None:
    vectors = unit_vectors(3000)
    ivf = FaissIvfIndex.build(tmp_path / "i", DIM, np.arange(3000, dtype=np.int64), vectors)
    nlist = ivf.describe()["parameters"]["nlist"]
    ivf.tune(nprobe=nlist, rerank=500)  # every list: exact up to the re-rank depth
    ivf.save()
    reopened = FaissIvfIndex.open(tmp_path / "i", DIM)
    assert reopened.describe()["parameters"]["nprobe"] == nlist
    assert reopened.describe()["parameters"]["rerank"] == 500
    with pytest.raises(InvalidInput, match="nprobe"):
        reopened.tune(nprobe=nlist + 1)
    hnsw = FaissHnswIndex.build(tmp_path / "h", DIM, np.arange(50, dtype=np.int64), vectors[:50])
    hnsw.tune(ef_search=256)
    hnsw.save()
    assert FaissHnswIndex.open(tmp_path / "h", DIM).describe()["parameters"]["efSearch"] == 256


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.backend)
def test_an_id_already_held_is_refused(cls: type[Index], tmp_path: Path) -> None:
    index = cls.build(tmp_path, DIM, np.arange(20, dtype=np.int64), unit_vectors(20))
    with pytest.raises(InvalidInput, match="already in the index"):
        index.add(np.array([30, 7], dtype=np.int64), unit_vectors(2, seed=1))
    assert len(index) == 20
    index.remove([7])
    index.add(np.array([7], dtype=np.int64), unit_vectors(1, seed=2))  # free again
    assert len(index) == 20


def test_open_refuses_another_backend_dimension_or_no_index(tmp_path: Path) -> None:
    FaissFlatIndex.build(tmp_path / "a", DIM, np.arange(5, dtype=np.int64), unit_vectors(5)).save()
    with pytest.raises(InvalidInput, match="faiss-flat"):
        FaissIvfIndex.open(tmp_path / "a", DIM)
    with pytest.raises(InvalidInput, match="128-d"):
        FaissFlatIndex.open(tmp_path / "a", 64)
    with pytest.raises(InvalidInput, match="No index"):
        FaissHnswIndex.open(tmp_path / "nothing", DIM)
    (tmp_path / "a" / "vectors.f32").write_bytes(b"")
    with pytest.raises(InvalidInput, match="truncated"):
        FaissFlatIndex.open(tmp_path / "a", DIM)


def test_memory_and_disk_accounting(tmp_path: Path) -> None:
    n = 5000
    vectors = unit_vectors(n)
    flat = FaissFlatIndex.build(tmp_path / "f", DIM, np.arange(n, dtype=np.int64), vectors)
    ivf = FaissIvfIndex.build(tmp_path / "i", DIM, np.arange(n, dtype=np.int64), vectors)
    flat.save()
    ivf.save()
    assert flat.memory_bytes() >= n * DIM * 4  # the vectors are in RAM
    assert ivf.memory_bytes() < n * 100  # codes and ids; the vectors stay on disk
    assert ivf.disk_bytes() >= n * DIM * 4 and flat.disk_bytes() >= n * DIM * 4
