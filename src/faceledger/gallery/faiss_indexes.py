"""FAISS vector indexes, each persisted in a directory of its own: exact flat, HNSW and IVF.

The public names (the index store, the lead engineer and ``benchmarks/bench_index.py`` call
exactly these)::

    FaissFlatIndex / FaissHnswIndex / FaissIvfIndex
        .build(directory: Path, dimension: int, ids: NDArray[int64], vectors: NDArray[float32])
            -> Self                     bulk build (trains IVF), not yet saved
        .open(directory: Path, dimension: int) -> Self    cold start from the saved files
        .add(ids, vectors) -> None      incremental; unit vectors, ids not already present
        .remove(ids) -> int             incremental; how many were present
        .search(queries, k) -> list[list[Hit]]            nearest first, exact distances
        len(index)                      templates held
        .save() -> None                 atomic: the old state or the new, never a mix
        .memory_bytes() -> int          bytes held in RAM (not the memory-mapped vectors)
        .disk_bytes() -> int            bytes of the committed files
        .backend: str                   "faiss-flat" | "faiss-hnsw" | "faiss-ivf"
        .approximate: bool
        .describe() -> dict             backend, approximate, count, parameters (R12)

    and, to trade search time for recall: FaissIvfIndex.tune(nprobe=, rerank=),
    FaissHnswIndex.tune(ef_search=, rerank=) (saved with the index).

Every index keeps the full float32 vectors in a memory-mapped file and the template id of each
row (:class:`faceledger.gallery.vector_files.RowFiles`); FAISS holds row numbers. The two
approximate indexes find a short list with compact codes and re-rank it EXACTLY from the full
vectors, so every distance reported is exact; only the membership of the list is approximate.

* :class:`FaissFlatIndex` -- exact inner product over every vector, held in RAM (512 bytes a
  face at 128-d): for galleries below ``index_approximate_from``.
* :class:`FaissIvfIndex` -- IVF over product-quantised codes in FAISS's fast-scan layout
  (``IVF<nlist>,PQ32x4fs``: 16 bytes a face, plus the 8-byte row id in its list and the 8-byte
  template id here, about 40 bytes a face in RAM). Parameters from the gallery size n at
  build (:meth:`IvfParameters.for_size`): ``nlist = 4*sqrt(n)`` bounded to [1, 8192] and to
  n/39 (FAISS wants 39 training points a centroid), k-means on 32 points a centroid, 10
  iterations; ``nprobe = nlist/4`` (at least 16, at most nlist); re-rank depth
  ``max(k, 128)``. Until 2,000 templates are held it is not trained and searches exactly.
* :class:`FaissHnswIndex` -- HNSW (M=32, efConstruction=40, efSearch=max(128, rerank depth))
  over SQ8 codes (128 bytes a face plus about 260 bytes of graph links); removed rows stay in
  the graph as tombstones, filtered out of every search, their codes zeroed.

Recall of the approximate indexes depends on the data. Isotropic synthetic vectors (Gaussian in
128-d, made unit length) are the hard case for partitions and graphs: with mated probes at the
spread of real sface genuine distances (``benchmarks/bench_index.py``), IVF at 1M faces
(nlist 4000) found the exact nearest of a mated probe for 0.91 of them at nprobe nlist/10, 0.96
at nlist/5, 0.98 at nlist/4 (the default) and 0.99 at 2*nlist/5; the time grows with nprobe.
Real face descriptors are far from isotropic, which is what partitions exploit.

Files (see :mod:`faceledger.gallery.vector_files`): ``manifest.json``, ``vectors.f32``,
``ids-<v>.i64`` and ``ivf-<v>.faiss`` / ``hnsw-<v>.faiss``. A save after additions only
appends to the vectors and ids and leaves the FAISS file alone while the additions since it was
written are few (IVF: the larger of 20,000 and 1% of the rows; HNSW: 2,000): ``open`` adds
those rows again. A save after a removal, or past that, rewrites the FAISS file (IVF: ~40 bytes
a face; HNSW ~400).
The flat index has no FAISS file: ``open`` reads ``vectors.f32``.

An index is safe to use from several threads (one lock); one process writes a directory at a
time (the index store holds a file lock).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Self

import faiss
import numpy as np
from numpy.typing import NDArray

from faceledger.errors import InvalidInput
from faceledger.gallery.index import Hit, distance_from_cosine
from faceledger.gallery.vector_files import RowFiles, as_entries, as_queries, fsync_file

_faiss: Any = faiss  # the parts of FAISS its type stubs do not describe

CHUNK_ROWS = 65_536
"""Rows read, copied or added at a time."""

Progress = Callable[[int], None]
"""Called with the number of rows just indexed."""


def _rerank(
    rows: RowFiles, queries: NDArray[np.float32], candidates: NDArray[np.int64], k: int
) -> list[list[Hit]]:
    """Return the ``k`` nearest of each query's candidate rows by the exact inner product."""
    vectors, ids = rows.vectors, rows.ids
    result: list[list[Hit]] = []
    for query, found in zip(queries, candidates, strict=True):
        cand = found[found >= 0]  # rows, each once (FAISS lists hold a row once)
        cand = cand[ids[cand] >= 0]
        if len(cand) == 0:
            result.append([])
            continue
        cosines = np.asarray(vectors[cand] @ query, dtype=np.float32)
        order = np.lexsort((ids[cand], -cosines))[:k]
        distances = distance_from_cosine(cosines[order])
        result.append(
            [Hit(int(i), float(d)) for i, d in zip(ids[cand[order]], distances, strict=True)]
        )
    return result


def _hits(
    rows: RowFiles, cosines: NDArray[np.float32], found: NDArray[np.int64]
) -> list[list[Hit]]:
    """Return hits from an exact FAISS search over rows (-1: no result)."""
    ids = rows.ids
    distances = distance_from_cosine(cosines)
    return [
        [Hit(int(ids[r]), float(d)) for r, d in zip(row, dist, strict=True) if r >= 0]
        for row, dist in zip(found, distances, strict=True)
    ]


def _excluding(rows: RowFiles) -> tuple[Any, Any] | None:
    """Return a FAISS selector of the live rows (and the selector it wraps, which must stay
    alive with it), or None when no row was removed."""
    if rows.live == rows.rows:
        return None
    dead = faiss.IDSelectorBatch(np.flatnonzero(rows.ids < 0).astype(np.int64))
    return faiss.IDSelectorNot(dead), dead


def _code_view(codes: Any, code_size: int) -> NDArray[np.uint8]:
    """Return a writable numpy view of a FAISS code table (rows of ``code_size`` bytes)."""
    flat: NDArray[np.uint8] = faiss.rev_swig_ptr(codes.data(), codes.size())
    return flat.reshape(-1, code_size)


SMALL_WORK_ROWS = 50_000
"""Below this many rows, FAISS builds and adds on one thread: starting and spinning OpenMP
threads then costs more than it saves, badly so on a busy machine."""


@contextlib.contextmanager
def _threads_for(rows: int) -> Iterator[None]:
    """Run FAISS work on ``rows`` rows on one thread if it is small (OpenMP's thread count is
    per calling thread: other threads are not affected)."""
    if rows >= SMALL_WORK_ROWS:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _write_faiss(index: Any, directory: Path, name: str) -> None:
    faiss.write_index(index, str(directory / name))
    fsync_file(directory / name)


class _FaissIndex:
    """What the three FAISS indexes share: rows, the lock, build/open/save and re-ranking."""

    backend: ClassVar[str]
    approximate: ClassVar[bool]
    _STEM: ClassVar[str | None] = None  # name of the FAISS file; None: no FAISS file
    _DELTA_ROWS: ClassVar[int] = 0  # additions a save may leave out of the FAISS file

    def __init__(self, rows: RowFiles, index: Any, base_rows: int, parameters: dict[str, Any]):
        self._rows, self._index = rows, index
        self._base_rows = base_rows  # rows the committed FAISS file covers
        self._index_file: str | None = None
        self._index_dirty = True  # a removal (or no file yet) since the FAISS file was written
        self._parameters = parameters
        self._lock = threading.RLock()
        self._selector: tuple[Any, Any] | None = None  # live rows, while some are removed

    def _live_selector(self) -> Any:
        """Return the FAISS selector excluding removed rows, or None if none is removed."""
        if self._rows.live == self._rows.rows:
            return None
        if self._selector is None:
            self._selector = _excluding(self._rows)
        return None if self._selector is None else self._selector[0]

    # -- building and opening ------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        directory: Path,
        dimension: int,
        ids: NDArray[np.int64],
        vectors: NDArray[np.float32],
    ) -> Self:
        """Build an index of unit ``vectors`` under ``ids`` in ``directory`` (replacing any
        index there); call :meth:`save` to commit it.

        Raises:
            InvalidInput: for vectors of another dimension, or ids repeated or negative.
        """
        id_array, matrix = as_entries(ids, vectors, dimension)
        rows = RowFiles.create(directory, dimension)
        for start in range(0, len(id_array), CHUNK_ROWS):
            stop = start + CHUNK_ROWS
            rows.append(id_array[start:stop], matrix[start:stop])
        return cls.from_rows(rows)

    @classmethod
    def from_rows(cls, rows: RowFiles, progress: Progress | None = None) -> Self:
        """Index rows already written to a fresh :class:`RowFiles` (the index store streams
        templates there); ``progress`` is told of the rows indexed."""
        with _threads_for(rows.rows):
            return cls._from_rows(rows, progress)

    @classmethod
    def _from_rows(cls, rows: RowFiles, progress: Progress | None) -> Self:
        raise NotImplementedError

    @classmethod
    def open(cls, directory: Path, dimension: int) -> Self:
        """Open the index saved in ``directory``: read its files, never the database.

        Raises:
            InvalidInput: if ``directory`` holds no committed index of this backend and
                dimension, or its files are damaged.
        """
        rows, manifest = RowFiles.open(directory, dimension, cls.backend)
        parameters = dict(manifest.get("parameters") or {})
        base_rows = int(parameters.pop("base_rows", 0))
        index_file = (manifest.get("files") or {}).get("index")
        index = None
        if cls._STEM is not None and index_file is not None:
            try:
                index = faiss.read_index(str(directory / index_file))
            except RuntimeError as exc:
                raise InvalidInput(f"Cannot read {directory / index_file}: {exc}") from exc
            if index.d != dimension:
                raise InvalidInput(f"{directory / index_file} holds {index.d}-d vectors.")
        with _threads_for(rows.rows - base_rows):
            opened = cls._opened(rows, index, base_rows, parameters)
        opened._index_file, opened._index_dirty = index_file, False
        return opened

    @classmethod
    def _opened(
        cls, rows: RowFiles, index: Any, base_rows: int, parameters: dict[str, Any]
    ) -> Self:
        """Return the index over opened ``rows``, adding again the rows after ``base_rows``."""
        raise NotImplementedError

    # -- the protocol --------------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """The directory of the index's files."""
        return self._rows.directory

    @property
    def dimension(self) -> int:
        """The vector dimension."""
        return self._rows.dimension

    def __len__(self) -> int:
        return self._rows.live

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add unit vectors under ``ids`` (on disk at once, committed by :meth:`save`).

        Raises:
            InvalidInput: for another dimension, or an id repeated, negative or already held.
        """
        id_array, matrix = as_entries(ids, vectors, self.dimension)
        if len(id_array) == 0:
            return
        with self._lock:
            present = self._rows.present(id_array)
            if present.any():
                raise InvalidInput(
                    f"Template ids already in the index: {id_array[present][:10].tolist()}."
                )
            new_rows = self._rows.append(id_array, matrix)
            with _threads_for(len(id_array) if self._index is not None else self._rows.rows):
                self._added(new_rows, matrix)

    def remove(self, ids: Iterable[int]) -> int:
        """Remove the given ids; return how many were present. They never come back in a
        search, and their vectors are zeroed on disk when the removal is saved."""
        with self._lock:
            rows = self._rows.rows_of(ids)
            if len(rows) == 0:
                return 0
            self._rows.kill(rows)
            self._selector = None
            with _threads_for(0):
                self._removed(rows)
            self._index_dirty = True
            return len(rows)

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """Return up to ``k`` nearest hits per query, nearest first, with exact distances.

        Raises:
            InvalidInput: for queries of another dimension.
        """
        matrix = as_queries(queries, self.dimension)
        with self._lock:
            k = min(k, len(self))
            if k <= 0:
                return [[] for _ in range(len(matrix))]
            return self._search(matrix, k)

    def save(self) -> None:
        """Commit the index to its directory atomically (see the module docstring for what
        a save writes)."""
        with self._lock:
            rows = self._rows
            files: dict[str, str] = {}
            if self._STEM is not None and self._index is not None:
                if self._index_dirty or rows.rows - self._base_rows > self._delta_limit():
                    name = f"{self._STEM}-{rows.version + 1:08d}.faiss"
                    _write_faiss(self._index, rows.directory, name)
                    self._index_file, self._base_rows = name, rows.rows
                    self._index_dirty = False
                if self._index_file is not None:
                    files["index"] = self._index_file
            else:
                self._base_rows = rows.rows
            rows.commit(self.backend, files, self._parameters | {"base_rows": self._base_rows})

    def memory_bytes(self) -> int:
        """Bytes this index holds in RAM: FAISS's structures and the row ids (the full
        vectors are memory-mapped from disk and not counted)."""
        with self._lock:
            return self._rows.memory_bytes() + self._faiss_bytes()

    def disk_bytes(self) -> int:
        """Bytes of the committed files."""
        with self._lock:
            return self._rows.disk_bytes([self._index_file] if self._index_file else [])

    def describe(self) -> dict[str, Any]:
        """Return what a search records about this index (R12): backend, approximate, count,
        and the search parameters."""
        with self._lock:
            return {
                "backend": self.backend,
                "approximate": self.approximate,
                "count": len(self),
                "parameters": self._search_parameters(),
            }

    def wants_rebuild(self) -> bool:
        """Whether a rebuild from the database would serve better: many removed rows, or
        (IVF) a gallery grown far past the size its partition was trained for."""
        with self._lock:
            dead = self._rows.rows - self._rows.live
            return dead > 1000 and dead > self._rows.rows // 4

    # -- hooks ---------------------------------------------------------------------------------

    def _added(self, rows: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        raise NotImplementedError

    def _removed(self, rows: NDArray[np.int64]) -> None:
        raise NotImplementedError

    def _search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        raise NotImplementedError

    def _search_parameters(self) -> dict[str, Any]:
        return dict(self._parameters)

    def _faiss_bytes(self) -> int:
        raise NotImplementedError

    def _delta_limit(self) -> int:
        return self._DELTA_ROWS


def _chunks(rows: RowFiles, start: int = 0) -> Iterable[tuple[NDArray[np.int64], Any]]:
    """Yield (rows, vectors) of the rows from ``start`` on, a chunk at a time."""
    for begin in range(start, rows.rows, CHUNK_ROWS):
        stop = min(rows.rows, begin + CHUNK_ROWS)
        yield (
            np.arange(begin, stop, dtype=np.int64),
            np.ascontiguousarray(rows.vectors[begin:stop]),
        )


class FaissFlatIndex(_FaissIndex):
    """Exact inner-product search over every vector, held in RAM by FAISS."""

    backend = "faiss-flat"
    approximate = False

    @classmethod
    def _from_rows(cls, rows: RowFiles, progress: Progress | None = None) -> Self:
        """Index rows already written to a fresh :class:`RowFiles`."""
        index = faiss.IndexFlatIP(rows.dimension)
        for numbers, vectors in _chunks(rows):
            index.add(vectors)
            if progress:
                progress(len(numbers))
        return cls(rows, index, 0, {})

    @classmethod
    def _opened(
        cls, rows: RowFiles, index: Any, base_rows: int, parameters: dict[str, Any]
    ) -> Self:
        return cls.from_rows(rows)

    def _added(self, rows: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        self._index.add(vectors)

    def _removed(self, rows: NDArray[np.int64]) -> None:
        view = _code_view(self._index.codes, self.dimension * 4)
        view[rows] = 0

    def _search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        selector = self._live_selector()
        params = None
        if selector is not None:
            params = faiss.SearchParameters()
            params.sel = selector
        cosines, found = self._index.search(queries, k, params=params)
        return _hits(self._rows, cosines, found)

    def _faiss_bytes(self) -> int:
        return int(self._index.ntotal) * self.dimension * 4


@dataclass(frozen=True)
class IvfParameters:
    """How an IVF index partitions and searches (see the module docstring for the rule)."""

    nlist: int
    nprobe: int
    rerank: int = 128
    pq_m: int = 32
    pq_bits: int = 4
    trained_on: int = 0

    MIN_TRAIN: ClassVar[int] = 2_000
    MAX_NLIST: ClassVar[int] = 8_192

    @classmethod
    def for_size(cls, n: int) -> IvfParameters:
        """Return the parameters for a gallery of ``n`` templates."""
        nlist = max(1, min(round(4 * math.sqrt(n)), cls.MAX_NLIST, n // 39))
        nprobe = min(nlist, max(16, math.ceil(nlist / 4)))
        return cls(nlist=nlist, nprobe=nprobe, trained_on=n)


class FaissIvfIndex(_FaissIndex):
    """IVF over PQ fast-scan codes, re-ranked exactly from the memory-mapped vectors."""

    backend = "faiss-ivf"
    approximate = True
    _STEM = "ivf"
    _DELTA_ROWS = 20_000

    def __init__(
        self, rows: RowFiles, index: Any, base_rows: int, parameters: dict[str, Any]
    ) -> None:
        super().__init__(rows, index, base_rows, parameters)
        self._ivf = IvfParameters(**parameters) if parameters else None

    @classmethod
    def _from_rows(cls, rows: RowFiles, progress: Progress | None = None) -> Self:
        """Train on the rows already written to a fresh :class:`RowFiles` and index them
        (exact search, untrained, below :attr:`IvfParameters.MIN_TRAIN` templates)."""
        if rows.live < IvfParameters.MIN_TRAIN:
            if progress:
                progress(rows.rows)
            return cls(rows, None, 0, {})
        params = IvfParameters.for_size(rows.live)
        index = cls._trained(rows, params)
        live = rows.ids >= 0
        for numbers, vectors in _chunks(rows):
            keep = live[numbers]
            index.add_with_ids(vectors[keep], numbers[keep])
            if progress:
                progress(len(numbers))
        return cls(rows, index, 0, asdict(params))

    @staticmethod
    def _trained(rows: RowFiles, params: IvfParameters) -> Any:
        index = faiss.index_factory(
            rows.dimension,
            f"IVF{params.nlist},PQ{params.pq_m}x{params.pq_bits}fs",
            faiss.METRIC_INNER_PRODUCT,
        )
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.niter, ivf.cp.max_points_per_centroid, ivf.cp.seed = 10, 32, 1234
        live_rows = np.flatnonzero(rows.ids >= 0)
        sample_size = min(len(live_rows), max(params.nlist * 32, 65_536))
        sample = np.sort(
            np.random.default_rng(1234).choice(live_rows, size=sample_size, replace=False)
        )
        index.train(np.ascontiguousarray(rows.vectors[sample]))
        ivf.nprobe = params.nprobe
        return index

    @classmethod
    def _opened(
        cls, rows: RowFiles, index: Any, base_rows: int, parameters: dict[str, Any]
    ) -> Self:
        if index is None:  # saved untrained
            return cls.from_rows(rows)
        live = rows.ids >= 0
        for numbers, vectors in _chunks(rows, base_rows):
            keep = live[numbers]
            index.add_with_ids(vectors[keep], numbers[keep])
        opened = cls(rows, index, base_rows, parameters)
        faiss.extract_index_ivf(index).nprobe = opened._params.nprobe
        return opened

    @property
    def _params(self) -> IvfParameters:
        assert self._ivf is not None
        return self._ivf

    def _added(self, rows: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if self._index is not None:
            self._index.add_with_ids(vectors, rows)
        elif self._rows.live >= IvfParameters.MIN_TRAIN:
            trained = FaissIvfIndex.from_rows(self._rows)
            self._index, self._ivf = trained._index, trained._ivf
            self._parameters, self._index_dirty = trained._parameters, True

    def _removed(self, rows: NDArray[np.int64]) -> None:
        if self._index is not None:
            self._index.remove_ids(faiss.IDSelectorBatch(rows))

    def _search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        if self._index is None:
            live = np.flatnonzero(self._rows.ids >= 0).astype(np.int64)
            return _rerank(self._rows, queries, np.tile(live, (len(queries), 1)), k)
        _, found = self._index.search(queries, max(k, self._params.rerank))
        return _rerank(self._rows, queries, found, k)

    def tune(self, nprobe: int | None = None, rerank: int | None = None) -> None:
        """Change how the index searches: lists probed (1..nlist) and re-rank depth (>= 1);
        kept by the next :meth:`save`. Trades time for recall (see the module docstring).

        Raises:
            InvalidInput: for a value out of range, or an index not trained yet.
        """
        with self._lock:
            if self._ivf is None:
                raise InvalidInput("The IVF index is not trained yet: it searches exactly.")
            p = self._ivf
            nprobe = p.nprobe if nprobe is None else nprobe
            rerank = p.rerank if rerank is None else rerank
            if not 1 <= nprobe <= p.nlist or rerank < 1:
                raise InvalidInput(f"nprobe must be 1..{p.nlist} and rerank at least 1.")
            self._ivf = replace(p, nprobe=nprobe, rerank=rerank)
            self._parameters = asdict(self._ivf)
            faiss.extract_index_ivf(self._index).nprobe = nprobe

    def _search_parameters(self) -> dict[str, Any]:
        if self._ivf is None:
            return {"trained": False, "exact_below": IvfParameters.MIN_TRAIN}
        p = self._ivf
        return {
            "trained": True,
            "nlist": p.nlist,
            "nprobe": p.nprobe,
            "rerank": p.rerank,
            "codes": f"PQ{p.pq_m}x{p.pq_bits}fs",
            "trained_on": p.trained_on,
        }

    def _faiss_bytes(self) -> int:
        if self._index is None:
            return 0
        ivf: Any = faiss.extract_index_ivf(self._index)
        lists = ivf.invlists
        # Fast-scan lists are padded to blocks of 32 codes.
        stored = sum(-(-int(lists.list_size(i)) // 32) * 32 for i in range(ivf.nlist))
        codes = stored * (self._params.pq_m * self._params.pq_bits // 8) + stored * 8
        centroids = ivf.nlist * self.dimension * 4
        return int(codes + centroids)

    def _delta_limit(self) -> int:
        return max(self._DELTA_ROWS, self._rows.rows // 100)

    def wants_rebuild(self) -> bool:
        """Whether a rebuild would serve better: many removed rows, or a gallery grown to 4x
        the size its partition was trained on."""
        with self._lock:
            if self._ivf is not None and self._rows.live > 4 * max(1, self._ivf.trained_on):
                return True
            return super().wants_rebuild()


@dataclass(frozen=True)
class HnswParameters:
    """How an HNSW index is built and searched."""

    m: int = 32
    ef_construction: int = 40
    ef_search: int = 128
    rerank: int = 64


class FaissHnswIndex(_FaissIndex):
    """HNSW over SQ8 codes, re-ranked exactly from the memory-mapped vectors."""

    backend = "faiss-hnsw"
    approximate = True
    _STEM = "hnsw"
    _DELTA_ROWS = 2_000

    def __init__(
        self, rows: RowFiles, index: Any, base_rows: int, parameters: dict[str, Any]
    ) -> None:
        super().__init__(rows, index, base_rows, parameters)
        self._hnsw = HnswParameters(**parameters)

    @classmethod
    def _from_rows(cls, rows: RowFiles, progress: Progress | None = None) -> Self:
        """Index the rows already written to a fresh :class:`RowFiles`."""
        params = HnswParameters()
        index = _faiss.IndexHNSWSQ(
            rows.dimension, faiss.ScalarQuantizer.QT_8bit, params.m, faiss.METRIC_INNER_PRODUCT
        )
        index.hnsw.efConstruction = params.ef_construction
        live_rows = np.flatnonzero(rows.ids >= 0)
        if len(live_rows) >= 1000:
            sample = np.sort(
                np.random.default_rng(1234).choice(
                    live_rows, size=min(len(live_rows), 100_000), replace=False
                )
            )
            index.train(np.ascontiguousarray(rows.vectors[sample]))
        else:  # too few to learn the range from: the range of any unit vector
            span = np.ones((2, rows.dimension), dtype=np.float32)
            span[0] = -1.0
            index.train(span)
        for numbers, vectors in _chunks(rows):
            index.add(vectors)
            if progress:
                progress(len(numbers))
        return cls(rows, index, 0, asdict(params))

    @classmethod
    def _opened(
        cls, rows: RowFiles, index: Any, base_rows: int, parameters: dict[str, Any]
    ) -> Self:
        if index is None:
            return cls.from_rows(rows)
        for _, vectors in _chunks(rows, base_rows):
            index.add(vectors)  # removed rows too (zero vectors): graph nodes are rows
        return cls(rows, index, base_rows, parameters)

    def _added(self, rows: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        self._index.add(vectors)

    def _removed(self, rows: NDArray[np.int64]) -> None:
        storage: Any = faiss.downcast_index(self._index.storage)
        view = _code_view(storage.codes, storage.code_size)
        view[rows] = 0

    def _search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        depth = max(k, self._hnsw.rerank)
        params = _faiss.SearchParametersHNSW()
        params.efSearch = max(self._hnsw.ef_search, depth)
        selector = self._live_selector()
        if selector is not None:
            params.sel = selector
        _, found = self._index.search(queries, depth, params=params)
        return _rerank(self._rows, queries, found, k)

    def tune(self, ef_search: int | None = None, rerank: int | None = None) -> None:
        """Change how the index searches: efSearch and re-rank depth (each >= 1); kept by
        the next :meth:`save`.

        Raises:
            InvalidInput: for a value below 1.
        """
        with self._lock:
            p = self._hnsw
            ef_search = p.ef_search if ef_search is None else ef_search
            rerank = p.rerank if rerank is None else rerank
            if ef_search < 1 or rerank < 1:
                raise InvalidInput("efSearch and rerank must be at least 1.")
            self._hnsw = replace(p, ef_search=ef_search, rerank=rerank)
            self._parameters = asdict(self._hnsw)

    def _search_parameters(self) -> dict[str, Any]:
        p = self._hnsw
        return {
            "M": p.m,
            "efConstruction": p.ef_construction,
            "efSearch": p.ef_search,
            "rerank": p.rerank,
            "codes": "SQ8",
        }

    def _faiss_bytes(self) -> int:
        hnsw = self._index.hnsw
        links = faiss.vector_to_array(hnsw.offsets)[-1] * 4 if self._index.ntotal else 0
        per_row = 8 + 4  # the offset and level of each node
        storage: Any = faiss.downcast_index(self._index.storage)
        return int(links + self._index.ntotal * (storage.code_size + per_row))
