"""The FAISS index and its store: exact results, deletes, persistence, staleness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceledger.biometrics.pipeline import normalise
from faceledger.gallery.index import FaissFlatIndex, IndexStore


def unit_vectors(n: int, seed: int = 0, dim: int = 128) -> np.ndarray:
    return normalise(np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32))


def test_search_is_exact_against_brute_force() -> None:
    vectors, queries = unit_vectors(500), unit_vectors(7, seed=1)
    index = FaissFlatIndex(128)
    index.add(np.arange(1000, 1500, dtype=np.int64), vectors)
    results = index.search(queries, 5)
    brute = np.linalg.norm(queries[:, None, :] - vectors[None, :, :], axis=2)
    for row, hits in zip(brute, results, strict=True):
        expected = np.argsort(row)[:5] + 1000
        assert [h.template_id for h in hits] == list(expected)
        assert np.allclose([h.distance for h in hits], np.sort(row)[:5], atol=1e-4)


def test_removed_ids_never_come_back() -> None:
    vectors = unit_vectors(50)
    index = FaissFlatIndex(128)
    index.add(np.arange(50, dtype=np.int64), vectors)
    assert index.remove([3, 4, 999]) == 2
    assert len(index) == 48
    hits = index.search(vectors[3:4], 48)[0]
    assert {3, 4}.isdisjoint(h.template_id for h in hits)


def test_k_larger_than_index_and_empty_index() -> None:
    index = FaissFlatIndex(128)
    assert index.search(unit_vectors(2), 10) == [[], []]
    index.add(np.array([7], dtype=np.int64), unit_vectors(1))
    assert [h.template_id for h in index.search(unit_vectors(1, seed=3), 10)[0]] == [7]


def test_store_saves_and_reloads_without_rebuilding(tmp_path: Path) -> None:
    ids, vectors = np.arange(20, dtype=np.int64), unit_vectors(20)
    calls = []

    def loader() -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        return ids, vectors

    IndexStore(tmp_path, 128).get(1, generation=5, loader=loader)
    assert len(calls) == 1
    reopened = IndexStore(tmp_path, 128).get(1, generation=5, loader=loader)
    assert len(calls) == 1  # read from the file, not rebuilt
    assert len(reopened) == 20


@pytest.mark.parametrize("damage", ["generation", "missing_meta", "corrupt_index"])
def test_stale_or_damaged_files_are_rebuilt_from_the_database(tmp_path: Path, damage: str) -> None:
    ids, vectors = np.arange(10, dtype=np.int64), unit_vectors(10)
    IndexStore(tmp_path, 128).get(1, generation=1, loader=lambda: (ids, vectors))
    generation = 1
    if damage == "generation":
        generation = 2  # the database moved on (e.g. a crash after commit, before the save)
    elif damage == "missing_meta":
        (tmp_path / "gallery-1.json").unlink()
    else:
        (tmp_path / "gallery-1.faiss").write_bytes(b"garbage")
    fresh_ids, fresh_vectors = ids[:4], vectors[:4]
    index = IndexStore(tmp_path, 128).get(1, generation, loader=lambda: (fresh_ids, fresh_vectors))
    assert len(index) == 4


def test_apply_updates_in_place_or_rebuilds_when_behind(tmp_path: Path) -> None:
    ids, vectors = np.arange(10, dtype=np.int64), unit_vectors(10)
    store = IndexStore(tmp_path, 128)
    store.get(1, 1, loader=lambda: (ids, vectors))
    extra = unit_vectors(2, seed=9)
    store.apply(
        1,
        1,
        2,
        loader=lambda: (ids, vectors),
        add=(np.array([100, 101], dtype=np.int64), extra),
        remove=[0],
    )
    index = store.get(1, 2, loader=lambda: (_ for _ in ()).throw(AssertionError("rebuilt")))
    assert len(index) == 11
    # An apply against an older generation than cached means another process changed the
    # gallery: rebuild from the database instead of patching.
    store.apply(1, 7, 8, loader=lambda: (ids[:3], vectors[:3]))
    assert len(store.get(1, 8, loader=lambda: (ids, vectors))) == 3
