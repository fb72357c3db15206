"""The Milvus index on a real Milvus Lite file: exact results, deletes, persistence, errors."""

from __future__ import annotations

import fcntl
import itertools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from faceledger.biometrics.pipeline import normalise
from faceledger.errors import ConfigError, InvalidInput, NotFound
from faceledger.gallery.milvus_index import MilvusIndex, index_type_for_size

DIM = 128
MakeIndex = Callable[..., MilvusIndex]


def unit_vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    return normalise(np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32))


def brute_force(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    distances: np.ndarray = np.linalg.norm(queries[:, None, :] - vectors[None, :, :], axis=2)
    return distances


def lock_is_free(db: Path) -> bool:
    """Whether nobody holds the Milvus Lite file's lock (flock: per open file, even in-process)."""
    fd = os.open(db / "LOCK", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def shared_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Milvus Lite file for the module, kept open so its server starts once."""
    uri = str(tmp_path_factory.mktemp("milvus") / "shared.db")
    anchor = MilvusIndex(uri, "anchor", DIM)
    yield uri
    anchor.close()


_names = itertools.count()


@pytest.fixture
def make_index(shared_uri: str) -> Iterator[MakeIndex]:
    """Open indexes over fresh collections of the shared file; close them afterwards."""
    opened: list[MilvusIndex] = []

    def make(
        collection: str | None = None, dimension: int = DIM, index_type: str | None = None
    ) -> MilvusIndex:
        name = collection or f"t{next(_names)}"
        index = MilvusIndex(shared_uri, name, dimension, index_type=index_type)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()


def test_search_is_exact_against_brute_force(make_index: MakeIndex) -> None:
    vectors, queries = unit_vectors(2000), unit_vectors(25, seed=1)
    index = make_index()
    index.add(np.arange(1000, 3000, dtype=np.int64), vectors)
    assert len(index) == 2000
    results = index.search(queries, 10)
    brute = brute_force(queries, vectors)
    for row, hits in zip(brute, results, strict=True):
        assert [h.template_id for h in hits] == list(np.argsort(row)[:10] + 1000)
        # The same Euclidean distance as FAISS reports, converted from Milvus's inner product.
        assert np.allclose([h.distance for h in hits], np.sort(row)[:10], atol=1e-4)


def test_approximate_index_recall_against_brute_force(make_index: MakeIndex) -> None:
    vectors = unit_vectors(1000, seed=2)
    noise = np.random.default_rng(3).normal(scale=0.03, size=(50, DIM)).astype(np.float32)
    queries = normalise(vectors[:50] + noise)
    index = make_index(index_type="HNSW")
    assert index.approximate
    index.add(np.arange(1000, dtype=np.int64), vectors)
    index.flush()  # sealed segments are the ones Milvus Lite searches through the HNSW graph
    results = index.search(queries, 10)
    expected = np.argsort(brute_force(queries, vectors), axis=1)[:, :10]
    pairs = list(zip(results, expected, strict=True))
    recall_1 = np.mean([hits[0].template_id == row[0] for hits, row in pairs])
    recall_10 = np.mean([len({h.template_id for h in hits} & set(row)) / 10 for hits, row in pairs])
    assert recall_1 >= 0.98
    assert recall_10 >= 0.9


def test_an_add_is_seen_by_the_next_search_and_count(make_index: MakeIndex) -> None:
    index = make_index()
    vector = unit_vectors(1, seed=4)
    index.add(np.array([42], dtype=np.int64), vector)
    assert len(index) == 1
    assert [h.template_id for h in index.search(vector, 5)[0]] == [42]


def test_removed_ids_never_come_back_and_the_count_is_exact(make_index: MakeIndex) -> None:
    vectors = unit_vectors(50)
    index = make_index()
    index.add(np.arange(50, dtype=np.int64), vectors)
    assert index.remove([3, 4, 999, 3]) == 2
    assert len(index) == 48
    assert index.remove([3, 4]) == 0
    hits = index.search(vectors[3:5], 48)
    assert all({3, 4}.isdisjoint(h.template_id for h in row) for row in hits)
    assert index.remove([]) == 0


def test_adding_an_id_again_replaces_its_vector(make_index: MakeIndex) -> None:
    old, new = unit_vectors(2, seed=5)
    index = make_index()
    index.add(np.array([7, 8], dtype=np.int64), np.stack([old, new]))
    index.add(np.array([7], dtype=np.int64), new[None, :])
    assert len(index) == 2
    assert all(h.distance > 0.5 for h in index.search(old[None, :], 2)[0])  # old is gone
    assert [h.distance < 1e-3 for h in index.search(new[None, :], 2)[0]] == [True, True]


def test_empty_index_k_zero_and_k_larger_than_the_index(make_index: MakeIndex) -> None:
    index = make_index()
    assert len(index) == 0
    assert index.search(unit_vectors(2), 10) == [[], []]
    index.add(np.array([7, 9], dtype=np.int64), unit_vectors(2, seed=6))
    assert sorted(h.template_id for h in index.search(unit_vectors(1, seed=3), 10)[0]) == [7, 9]
    assert index.search(unit_vectors(1), 0) == [[]]
    assert index.search(np.zeros((0, DIM), np.float32), 5) == []
    index.add(np.zeros(0, np.int64), np.zeros((0, DIM), np.float32))
    assert len(index) == 2


def test_bad_vectors_and_ids_are_refused_before_anything_is_written(
    make_index: MakeIndex,
) -> None:
    index = make_index()
    good = unit_vectors(3)
    nan = good.copy()
    nan[1, 5] = np.nan
    cases = [
        (np.arange(3), unit_vectors(3, dim=64)),  # wrong dimension
        (np.arange(2), good),  # 2 ids, 3 vectors
        (np.array([1, 2, 1]), good),  # a repeated id
        (np.arange(3), nan),  # not finite
    ]
    for ids, vectors in cases:
        with pytest.raises(InvalidInput):
            index.add(ids.astype(np.int64), vectors)
    assert len(index) == 0
    with pytest.raises(InvalidInput, match=r"expected \(n, 128\)"):
        index.search(unit_vectors(1, dim=64), 3)


def test_generation_round_trip(make_index: MakeIndex) -> None:
    index = make_index()
    assert index.generation() is None  # never built: stale for every database generation
    index.set_generation(7)
    assert index.generation() == 7
    index.set_generation(8)
    assert index.generation() == 8
    for bad in (-1, True, "9"):
        with pytest.raises(InvalidInput):
            index.set_generation(bad)  # type: ignore[arg-type]
    assert index.generation() == 8


def test_persists_across_close_and_reopen(tmp_path: Path) -> None:
    db = tmp_path / "gallery.db"
    vectors = unit_vectors(30, seed=7)
    with MilvusIndex(str(db), "gallery_1", DIM) as index:
        index.add(np.arange(100, 130, dtype=np.int64), vectors)
        index.remove([100])
        index.set_generation(12)
        assert not lock_is_free(db)
    assert lock_is_free(db)  # the Lite server stopped when the last index closed
    with MilvusIndex(str(db), "gallery_1", DIM) as reopened:
        assert len(reopened) == 29
        assert reopened.generation() == 12
        assert reopened.search(vectors[5:6], 1)[0][0].template_id == 105
        assert 100 not in {h.template_id for h in reopened.search(vectors[:1], 29)[0]}


def test_two_indexes_over_one_file_share_it_until_the_last_closes(tmp_path: Path) -> None:
    db = tmp_path / "two.db"
    vectors = unit_vectors(4, seed=8)
    first = MilvusIndex(str(db), "g", DIM)
    second = MilvusIndex(str(db), "g", DIM)
    other = MilvusIndex(str(tmp_path / "." / "two.db"), "h", DIM)  # same file, other spelling
    first.add(np.arange(4, dtype=np.int64), vectors)
    assert len(second) == 4
    first.close()
    first.close()  # closing twice is harmless
    assert second.search(vectors[2:3], 1)[0][0].template_id == 2
    other.add(np.array([9], dtype=np.int64), vectors[:1])
    second.close()
    assert not lock_is_free(db)
    assert len(other) == 1
    other.close()
    assert lock_is_free(db)
    with pytest.raises(ConfigError, match="closed"):
        len(first)


def test_reopening_with_another_dimension_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "dims.db")
    MilvusIndex(db, "g", DIM).close()
    with pytest.raises(InvalidInput) as error:
        MilvusIndex(db, "g", 64)
    assert error.value.details == {"expected": 64, "actual": DIM}
    assert "g" in error.value.message and db in error.value.message
    assert lock_is_free(Path(db))  # the failed open gave the file back


def test_changing_the_index_type_keeps_the_vectors(tmp_path: Path) -> None:
    db = str(tmp_path / "switch.db")
    vectors = unit_vectors(100, seed=9)
    with MilvusIndex(db, "g", DIM) as flat:
        assert (flat.index_type, flat.approximate) == ("FLAT", False)
        flat.add(np.arange(100, dtype=np.int64), vectors)
    with MilvusIndex(db, "g", DIM, index_type="IVF_FLAT") as ivf:
        described = ivf.describe()
        assert described["backend"] == "milvus"
        assert described["approximate"] is True
        assert described["count"] == 100
        assert described["parameters"]["index_type"] == "IVF_FLAT"
        assert described["parameters"]["nprobe"] == 64
        assert ivf.search(vectors[10:11], 1)[0][0].template_id == 10
    with MilvusIndex(db, "g", DIM) as kept:
        assert kept.index_type == "IVF_FLAT"  # no index_type: the existing index stays


def test_describe_of_an_exact_index(make_index: MakeIndex, shared_uri: str) -> None:
    index = make_index()
    index.add(np.array([1], dtype=np.int64), unit_vectors(1))
    assert index.backend == "milvus"
    assert index.describe() == {
        "backend": "milvus",
        "approximate": False,
        "count": 1,
        "parameters": {
            "uri": shared_uri,
            "collection": index.collection,
            "index_type": "FLAT",
            "metric": "IP",
        },
    }


def test_drop_removes_the_collection(make_index: MakeIndex) -> None:
    index = make_index()
    index.add(np.array([1], dtype=np.int64), unit_vectors(1))
    index.set_generation(3)
    index.drop()
    with pytest.raises(NotFound):
        len(index)
    fresh = make_index(index.collection)
    assert len(fresh) == 0
    assert fresh.generation() is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unusable_uris_raise_config_errors_naming_them(tmp_path: Path) -> None:
    plain = tmp_path / "plain.db"
    plain.write_text("not a database")
    locked = tmp_path / "locked.db"
    MilvusIndex(str(locked), "g", DIM).close()
    port = _free_port()
    cases = {
        str(tmp_path / "missing" / "x.db"): "folder is missing",
        str(plain): "plain file",
        str(locked): "another process",
        f"http://127.0.0.1:{port}": "Cannot connect",
    }
    fd = os.open(locked / "LOCK", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another process holding the file would
    try:
        for uri, reason in cases.items():
            with pytest.raises(ConfigError, match=reason) as error:
                MilvusIndex(uri, "g", DIM, timeout=5)
            assert uri in error.value.message
    finally:
        os.close(fd)


def test_credentials_stay_out_of_error_messages() -> None:
    uri = f"http://faceledger:s3cret@127.0.0.1:{_free_port()}"
    with pytest.raises(ConfigError) as error:
        MilvusIndex(uri, "g", DIM, timeout=5)
    assert "s3cret" not in error.value.message
    assert "127.0.0.1" in error.value.message


@pytest.mark.parametrize(
    ("collection", "options"),
    [
        ("1starts_with_a_digit", {}),
        ("has-dash", {}),
        ("", {}),
        ("fine", {"index_type": "SCANN"}),
    ],
)
def test_bad_names_and_index_types_are_refused(
    collection: str, options: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput):
        MilvusIndex(str(tmp_path / "x.db"), collection, DIM, **options)  # type: ignore[arg-type]
    assert not (tmp_path / "x.db").exists()  # refused before starting anything


@pytest.mark.parametrize(
    ("size", "expected"), [(0, "FLAT"), (999_999, "FLAT"), (1_000_000, "HNSW"), (10**7, "HNSW")]
)
def test_index_type_for_size(size: int, expected: str) -> None:
    assert index_type_for_size(size) == expected
    assert index_type_for_size(size, approximate_from=10**9) == "FLAT"
