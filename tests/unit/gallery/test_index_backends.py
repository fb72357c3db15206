"""One suite run against every vector index backend: FAISS flat, HNSW and IVF, and Milvus (a
real Milvus Lite file): search against exact brute force, deletes, persistence and reopening,
incremental changes after a reopen, empty indexes, k past the size, bad dimensions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from faceledger.biometrics.pipeline import normalise
from faceledger.errors import InvalidInput
from faceledger.gallery.faiss_indexes import FaissFlatIndex, FaissHnswIndex, FaissIvfIndex
from faceledger.gallery.index import Hit, VectorIndex

DIM = 128
BACKENDS = ("flat", "hnsw", "ivf", "milvus")
NAMES = {"flat": "faiss-flat", "hnsw": "faiss-hnsw", "ivf": "faiss-ivf", "milvus": "milvus"}
FAISS = {"flat": FaissFlatIndex, "hnsw": FaissHnswIndex, "ivf": FaissIvfIndex}


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    return normalise(np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32))


def mated(vectors: np.ndarray, rows: np.ndarray, seed: int, noise: float = 0.05) -> np.ndarray:
    """Probes near the given rows (cosine about 0.85 to their mate)."""
    rng = np.random.default_rng(seed)
    return normalise(vectors[rows] + rng.normal(scale=noise, size=(len(rows), DIM)))


def exact(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int) -> list[list[Hit]]:
    distances = np.sqrt(np.clip(2.0 - 2.0 * (queries @ vectors.T), 0.0, 4.0))
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return [
        [Hit(int(ids[j]), float(row[j])) for j in top]
        for row, top in zip(distances, order, strict=True)
    ]


class Backend:
    """Builds, saves and reopens one backend's indexes in a test's temporary directory."""

    def __init__(self, kind: str, root: Path, milvus_uri: str) -> None:
        self.kind, self.root, self.milvus_uri = kind, root, milvus_uri
        self.opened: list[Any] = []
        self.collection = ""

    def build(self, ids: np.ndarray, vectors: np.ndarray) -> Any:
        if self.kind == "milvus":
            from faceledger.gallery.milvus_index import MilvusIndex

            # Unique in the module's Lite file: an id() is reused once its object is freed, and a
            # reused name would open an earlier test's collection, rows and all.
            self.collection = f"suite_{uuid.uuid4().hex}"
            index = MilvusIndex(self.milvus_uri, self.collection, DIM)
            if len(ids):
                index.add(ids, vectors)
        else:
            index = FAISS[self.kind].build(self.root / "index", DIM, ids, vectors)
        self.opened.append(index)
        return index

    def save(self, index: Any) -> None:
        if self.kind != "milvus":
            index.save()

    def reopen(self, index: Any) -> Any:
        """Save, drop the object, and open the saved index afresh (a cold start)."""
        self.save(index)
        if self.kind == "milvus":
            from faceledger.gallery.milvus_index import MilvusIndex

            index.close()
            again = MilvusIndex(self.milvus_uri, self.collection, DIM)
        else:
            again = FAISS[self.kind].open(self.root / "index", DIM)
        self.opened.append(again)
        return again

    def close(self) -> None:
        for index in self.opened:
            if self.kind == "milvus":
                index.close()


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Milvus Lite file for the module, held open so its server starts once."""
    from faceledger.gallery.milvus_index import MilvusIndex

    uri = str(tmp_path_factory.mktemp("milvus") / "suite.db")
    anchor = MilvusIndex(uri, "anchor", DIM)
    yield uri
    anchor.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn (Milvus over the module's Lite file)."""
    uri = request.getfixturevalue("milvus_uri") if request.param == "milvus" else ""
    made = Backend(request.param, tmp_path, uri)
    yield made
    made.close()


def test_nearest_agree_with_brute_force_and_distances_are_exact(backend: Backend) -> None:
    vectors = unit_vectors(3000)
    ids = np.arange(1, 3001, dtype=np.int64) * 3  # ids are not row numbers
    index: VectorIndex = backend.build(ids, vectors)
    rows = np.random.default_rng(5).choice(3000, size=200, replace=False)
    queries = mated(vectors, rows, seed=6)
    truth = exact(queries, vectors, ids, 10)
    found = index.search(queries, 10)
    assert len(found) == 200 and all(len(hits) == 10 for hits in found)
    recall1 = np.mean(
        [f[0].template_id == t[0].template_id for f, t in zip(found, truth, strict=True)]
    )
    assert recall1 >= (1.0 if not index.approximate else 0.97)
    # Whatever an index finds, the distance it reports is the exact one (re-ranked).
    by_id = dict(zip(ids.tolist(), range(3000), strict=True))
    for query, hits in zip(queries, found, strict=True):
        distances = [h.distance for h in hits]
        assert distances == sorted(distances)
        for hit in hits:
            true = float(np.linalg.norm(query - vectors[by_id[hit.template_id]]))
            assert hit.distance == pytest.approx(true, abs=1e-4)


def test_describe_names_the_backend_and_whether_it_is_approximate(backend: Backend) -> None:
    index = backend.build(np.arange(50, dtype=np.int64), unit_vectors(50))
    described = index.describe()
    assert described["backend"] == NAMES[backend.kind] == index.backend
    assert described["approximate"] is index.approximate
    assert index.approximate is (backend.kind in ("hnsw", "ivf"))
    assert described["count"] == 50 == len(index)
    assert isinstance(described["parameters"], dict)


def test_removed_ids_never_come_back(backend: Backend) -> None:
    vectors = unit_vectors(300)
    index = backend.build(np.arange(300, dtype=np.int64), vectors)
    assert index.remove([3, 4, 999]) == 2
    assert index.remove([3]) == 0
    assert len(index) == 298
    hits = index.search(vectors[3:5], 298)
    for row in hits:
        assert {3, 4}.isdisjoint(h.template_id for h in row)
        assert row[0].template_id not in (3, 4)
    assert len(hits[0]) == 298 or backend.kind in ("hnsw", "milvus")  # graphs may return fewer


def test_changes_persist_and_continue_after_a_reopen(backend: Backend) -> None:
    vectors = unit_vectors(400)
    index = backend.build(np.arange(300, dtype=np.int64), vectors[:300])
    index.add(np.arange(300, 350, dtype=np.int64), vectors[300:350])
    index.remove(range(0, 20))
    reopened = backend.reopen(index)
    assert len(reopened) == 330
    assert [h[0].template_id for h in reopened.search(vectors[[25, 310]], 1)] == [25, 310]
    assert reopened.search(vectors[5:6], 1)[0][0].template_id != 5
    # Incremental adds and deletes after the reopen, then a second reopen.
    reopened.add(np.arange(350, 400, dtype=np.int64), vectors[350:400])
    assert reopened.remove([25, 310, 399]) == 3
    again = backend.reopen(reopened)
    assert len(again) == 377
    found = [h[0].template_id for h in again.search(vectors[[25, 310, 360, 399]], 1)]
    assert found[2] == 360
    assert 25 not in found and 310 not in found and 399 not in found


def test_empty_index_and_k_larger_than_the_index(backend: Backend) -> None:
    empty = backend.build(np.zeros(0, dtype=np.int64), np.zeros((0, DIM), dtype=np.float32))
    assert len(empty) == 0
    assert empty.search(unit_vectors(2), 10) == [[], []]
    empty.add(np.array([7, 8], dtype=np.int64), unit_vectors(2, seed=3))
    hits = empty.search(unit_vectors(1, seed=4), 10)
    assert sorted(h.template_id for h in hits[0]) == [7, 8]


def test_wrong_dimension_is_refused(backend: Backend) -> None:
    index = backend.build(np.arange(10, dtype=np.int64), unit_vectors(10))
    with pytest.raises(InvalidInput):
        index.search(np.ones((1, 64), dtype=np.float32), 3)
    with pytest.raises(InvalidInput):
        index.add(np.array([11], dtype=np.int64), np.ones((1, 64), dtype=np.float32))
    assert len(index) == 10


def test_ids_and_vectors_must_match(backend: Backend) -> None:
    index = backend.build(np.arange(10, dtype=np.int64), unit_vectors(10))
    with pytest.raises(InvalidInput):
        index.add(np.array([11, 12], dtype=np.int64), unit_vectors(3))
    with pytest.raises(InvalidInput):
        index.add(np.array([13, 13], dtype=np.int64), unit_vectors(2))
    assert len(index) == 10
