"""Vector index: exact nearest-neighbour search over L2-normalised face descriptors.

One FAISS index per gallery (``IndexIDMap2`` over ``IndexFlatIP``: on unit vectors the inner
product is the cosine, and the Euclidean distance follows from it exactly). Template ids from the
database are the vector ids. An index file sits beside the database with a small JSON file
recording the gallery *generation* it was built from; the database bumps the generation in the
same transaction as every template change, so a stale or missing file is detected and the index
is rebuilt from the database.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np
from numpy.typing import NDArray

from faceledger.errors import InvalidInput


@dataclass(frozen=True)
class Hit:
    """A template found near a probe: its id and Euclidean distance between unit vectors."""

    template_id: int
    distance: float


def distance_from_cosine(cosine: NDArray[np.float32]) -> NDArray[np.float64]:
    """Return the Euclidean distance between unit vectors whose inner product is ``cosine``."""
    return np.sqrt(np.clip(2.0 - 2.0 * cosine.astype(np.float64), 0.0, 4.0))


class VectorIndex(Protocol):
    """Exact or approximate k-NN over unit vectors, keyed by template id."""

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add unit vectors under ``ids``."""
        ...

    def remove(self, ids: Iterable[int]) -> int:
        """Remove the given ids; return how many were present."""
        ...

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """Return up to ``k`` nearest hits per query, nearest first."""
        ...

    def __len__(self) -> int: ...


class FaissFlatIndex:
    """Exact inner-product search with FAISS, holding unit vectors."""

    def __init__(self, dimension: int, index: Any = None) -> None:
        self.dimension = dimension
        self._index = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        )

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add unit vectors under ``ids``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
        self._index.add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: Iterable[int]) -> int:
        """Remove the given ids; return how many were present."""
        array = np.fromiter(ids, dtype=np.int64)
        if array.size == 0:
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(array)))

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """Return up to ``k`` nearest hits per query, nearest first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        k = min(k, len(self))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        cosines, ids = self._index.search(queries, k)
        distances = distance_from_cosine(cosines)
        return [
            [Hit(int(i), float(d)) for i, d in zip(row_ids, row_d, strict=True) if i >= 0]
            for row_ids, row_d in zip(ids, distances, strict=True)
        ]

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, dimension: int) -> FaissFlatIndex:
        """Read an index written by :meth:`save`."""
        index = faiss.read_index(str(path))
        if index.d != dimension:
            raise InvalidInput(f"Index {path} holds {index.d}-d vectors, expected {dimension}.")
        return cls(dimension, index)


Loader = Callable[[], tuple[NDArray[np.int64], NDArray[np.float32]]]


class IndexStore:
    """Keeps one index per gallery in memory and on disk, in step with the database."""

    def __init__(self, directory: Path, dimension: int) -> None:
        self.directory = directory
        self.dimension = dimension
        self._cache: dict[int, tuple[int, FaissFlatIndex]] = {}
        self._lock = threading.RLock()

    def _paths(self, gallery_id: int) -> tuple[Path, Path]:
        return (
            self.directory / f"gallery-{gallery_id}.faiss",
            self.directory / f"gallery-{gallery_id}.json",
        )

    def get(self, gallery_id: int, generation: int, loader: Loader) -> FaissFlatIndex:
        """Return the index of a gallery at ``generation``, loading or rebuilding as needed."""
        with self._lock:
            cached = self._cache.get(gallery_id)
            if cached is not None and cached[0] == generation:
                return cached[1]
            index = self._load_file(gallery_id, generation)
            if index is None:
                index = self.rebuild(gallery_id, generation, loader)
            self._cache[gallery_id] = (generation, index)
            return index

    def rebuild(self, gallery_id: int, generation: int, loader: Loader) -> FaissFlatIndex:
        """Build a gallery's index from the database rows ``loader`` returns, and save it."""
        with self._lock:
            ids, vectors = loader()
            index = FaissFlatIndex(self.dimension)
            if len(ids):
                index.add(ids, vectors)
            self._save(gallery_id, generation, index)
            self._cache[gallery_id] = (generation, index)
            return index

    def apply(
        self,
        gallery_id: int,
        old_generation: int,
        new_generation: int,
        loader: Loader,
        add: tuple[NDArray[np.int64], NDArray[np.float32]] | None = None,
        remove: Iterable[int] = (),
    ) -> None:
        """Apply a committed change to the index, or rebuild if the index was not current."""
        with self._lock:
            cached = self._cache.get(gallery_id)
            if cached is None or cached[0] != old_generation:
                self.rebuild(gallery_id, new_generation, loader)
                return
            index = cached[1]
            index.remove(remove)
            if add is not None and len(add[0]):
                index.add(*add)
            self._save(gallery_id, new_generation, index)
            self._cache[gallery_id] = (new_generation, index)

    def drop(self, gallery_id: int) -> None:
        """Forget a deleted gallery's index and remove its files."""
        with self._lock:
            self._cache.pop(gallery_id, None)
            for path in self._paths(gallery_id):
                path.unlink(missing_ok=True)

    def _load_file(self, gallery_id: int, generation: int) -> FaissFlatIndex | None:
        index_path, meta_path = self._paths(gallery_id)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("generation") != generation or meta.get("dimension") != self.dimension:
                return None
            index = FaissFlatIndex.load(index_path, self.dimension)
            return index if len(index) == meta.get("count") else None
        except (OSError, ValueError, RuntimeError, InvalidInput):
            return None  # missing, partial or foreign file: rebuild from the database

    def _save(self, gallery_id: int, generation: int, index: FaissFlatIndex) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        index_path, meta_path = self._paths(gallery_id)
        # Invalidate the meta first so a crash between the two writes forces a rebuild.
        meta_path.unlink(missing_ok=True)
        index.save(index_path)
        meta = {"generation": generation, "count": len(index), "dimension": self.dimension}
        tmp = meta_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, meta_path)
