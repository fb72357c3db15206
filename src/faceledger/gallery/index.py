"""What every vector index is: k-NN over L2-normalised face descriptors, keyed by template id.

On unit vectors the inner product is the cosine, and the Euclidean distance follows from it
exactly (:func:`distance_from_cosine`), so every backend reports the same distance. The
backends live elsewhere: FAISS (exact flat, HNSW, IVF) in :mod:`faceledger.gallery.faiss_indexes`,
Milvus in :mod:`faceledger.gallery.milvus_index`; one index per gallery, kept in step with the
database by :class:`faceledger.gallery.index_store.IndexStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

BACKENDS = ("faiss-flat", "faiss-hnsw", "faiss-ivf", "milvus")
"""The values of :attr:`VectorIndex.backend`."""


@dataclass(frozen=True)
class Hit:
    """A template found near a probe: its id and Euclidean distance between unit vectors."""

    template_id: int
    distance: float


def distance_from_cosine(cosine: NDArray[np.float32]) -> NDArray[np.float64]:
    """Return the Euclidean distance between unit vectors whose inner product is ``cosine``."""
    return np.sqrt(np.clip(2.0 - 2.0 * cosine.astype(np.float64), 0.0, 4.0))


@dataclass(frozen=True)
class VectorChunk:
    """Some templates of a gallery: ids, unit vectors, and how many the gallery held when the
    read began (for progress)."""

    ids: NDArray[np.int64]
    vectors: NDArray[np.float32]
    total: int


Loader = Callable[[], Iterable[VectorChunk]]
"""Reads a gallery's templates from the database, a chunk at a time, in one read (the only path
that reads templates for an index: a rebuild)."""


class VectorIndex(Protocol):
    """Exact or approximate k-NN over unit vectors, keyed by template id.

    ``describe()`` is what a search records about the index that answered it (R12): at least
    ``backend``, ``approximate`` and ``count``, plus the backend's search parameters (for
    example ``nprobe``, ``efSearch``, ``rerank``).
    """

    @property
    def backend(self) -> str:
        """One of :data:`BACKENDS`."""
        ...

    @property
    def approximate(self) -> bool:
        """Whether a search may miss a nearer template (the distances it reports are exact)."""
        ...

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add unit vectors under ``ids``."""
        ...

    def remove(self, ids: Iterable[int]) -> int:
        """Remove the given ids; return how many were present."""
        ...

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """Return up to ``k`` nearest hits per query, nearest first."""
        ...

    def describe(self) -> dict[str, Any]:
        """Return the backend, whether it is approximate, the count and the search parameters."""
        ...

    def __len__(self) -> int: ...
