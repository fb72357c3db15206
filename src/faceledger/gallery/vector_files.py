"""The rows of an index directory on disk: the full float32 vectors, memory-mapped, the
template id of each row, and a manifest that commits both atomically.

An index (see :mod:`faceledger.gallery.faiss_indexes`) numbers its vectors by *row*, in the
order they were added; FAISS holds rows, this module maps them to template ids. The files::

    manifest.json      what is committed: row count, live count, the ids file, the index files
    vectors.f32        row-major float32 rows, append-only (memory-mapped for exact re-ranking)
    ids-<version>.i64  the template id of each row (-1: removed), little-endian int64
    <name>-<version>.faiss   the backend's own files, named in the manifest

A save writes new data first and the manifest last (``os.replace``), so a crash leaves either
the old state or the new one. Rows past the manifest's row count are leftovers of a save that
did not finish and are overwritten. Removing a row writes -1 for its id (the ids file is then
rewritten under a new version) and, once the manifest is committed, zeroes its vector in
``vectors.f32``, so a deleted face's descriptor does not stay on disk; a directory opened after
a crash between those steps is scrubbed again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faceledger.errors import InvalidInput

MANIFEST = "manifest.json"
VECTORS = "vectors.f32"
FORMAT = 1


def fsync_file(path: Path) -> None:
    """Flush a written file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Flush a directory's entries (a rename in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_directory(path.parent)


def as_queries(queries: NDArray[np.float32], dimension: int) -> NDArray[np.float32]:
    """Return ``queries`` as a C-contiguous float32 matrix of ``dimension`` columns.

    Raises:
        InvalidInput: for vectors of another dimension.
    """
    array = np.ascontiguousarray(queries, dtype=np.float32)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != dimension:
        raise InvalidInput(
            f"Expected {dimension}-d vectors, got an array of shape {tuple(array.shape)}.",
            dimension=dimension,
        )
    return array


def as_entries(
    ids: NDArray[np.int64], vectors: NDArray[np.float32], dimension: int
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Return ids and vectors to add, checked: one non-negative, unique id per vector.

    Raises:
        InvalidInput: for another dimension, a count mismatch, a negative or repeated id.
    """
    matrix = as_queries(vectors, dimension)
    id_array = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    if len(id_array) != len(matrix):
        raise InvalidInput(f"{len(id_array)} ids for {len(matrix)} vectors.")
    if len(id_array) and int(id_array.min()) < 0:
        raise InvalidInput("Template ids must not be negative.")
    if len(np.unique(id_array)) != len(id_array):
        raise InvalidInput("The same template id appears twice in one addition.")
    return id_array, matrix


class RowFiles:
    """The vectors and row ids of one index directory, with an atomic commit."""

    def __init__(
        self,
        directory: Path,
        dimension: int,
        ids: NDArray[np.int64],
        committed_rows: int,
        version: int,
        ids_file: str | None,
    ) -> None:
        self.directory, self.dimension = directory, dimension
        self._ids = ids  # row -> template id, -1 for a removed row
        self._rows = len(ids)
        self._committed_rows = committed_rows
        self._version = version
        self._ids_file = ids_file
        self._ids_rewrite = ids_file is None  # removals since the last commit
        self._scrub: list[NDArray[np.int64]] = []  # removed rows whose vectors are to be zeroed
        self._live = int(np.count_nonzero(ids >= 0))
        self._max_id = int(ids.max()) if len(ids) else -1
        self._map: np.memmap[Any, np.dtype[np.float32]] | None = None
        self._remap()

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path, dimension: int) -> RowFiles:
        """Start an empty index directory, discarding any index files already in it."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MANIFEST).unlink(missing_ok=True)  # first: a crash now leaves no index
        for path in directory.iterdir():
            if path.is_file() and (
                path.suffix in (".faiss", ".i64", ".tmp") or path.name == VECTORS
            ):
                path.unlink()
        (directory / VECTORS).write_bytes(b"")
        return cls(directory, dimension, np.zeros(0, dtype=np.int64), 0, 0, None)

    @classmethod
    def open(cls, directory: Path, dimension: int, backend: str) -> tuple[RowFiles, dict[str, Any]]:
        """Open a committed index directory; return its rows and its manifest.

        Raises:
            InvalidInput: if there is no committed index of ``backend`` and ``dimension`` in
                ``directory``, or its files are shorter than the manifest says.
        """
        try:
            manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(
                f"No index in {directory}: {exc}.", directory=str(directory)
            ) from exc
        if manifest.get("format") != FORMAT or manifest.get("backend") != backend:
            raise InvalidInput(
                f"{directory} holds a {manifest.get('backend')!r} index (format "
                f"{manifest.get('format')}), not {backend!r}.",
                directory=str(directory),
            )
        if manifest.get("dimension") != dimension:
            raise InvalidInput(
                f"The index in {directory} holds {manifest.get('dimension')}-d vectors, "
                f"expected {dimension}.",
                directory=str(directory),
            )
        rows = int(manifest["rows"])
        ids_path = directory / manifest["ids_file"]
        vectors_size = (directory / VECTORS).stat().st_size
        if ids_path.stat().st_size < rows * 8 or vectors_size < rows * dimension * 4:
            raise InvalidInput(f"The index files in {directory} are truncated.")
        ids = np.fromfile(ids_path, dtype="<i8", count=rows).astype(np.int64, copy=False)
        files = cls(directory, dimension, ids, rows, int(manifest["version"]), ids_path.name)
        if files.live != manifest.get("live"):
            raise InvalidInput(f"The ids file in {directory} does not match its manifest.")
        files._scrub_removed()
        return files, manifest

    # -- reading -------------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """Rows held, removed ones included."""
        return self._rows

    @property
    def committed_rows(self) -> int:
        """Rows the manifest on disk covers."""
        return self._committed_rows

    @property
    def live(self) -> int:
        """Rows not removed."""
        return self._live

    @property
    def version(self) -> int:
        """The committed version (0 before the first commit)."""
        return self._version

    @property
    def ids(self) -> NDArray[np.int64]:
        """The template id of each row (-1: removed); read-only view."""
        view = self._ids[: self._rows]
        view.flags.writeable = False
        return view

    @property
    def vectors(self) -> NDArray[np.float32]:
        """Every row's vector, memory-mapped from ``vectors.f32`` (removed rows are zero)."""
        if self._map is None:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._map

    def rows_of(self, ids: Iterable[int]) -> NDArray[np.int64]:
        """Return the live rows holding any of ``ids``."""
        wanted = np.fromiter(ids, dtype=np.int64)
        if wanted.size == 0 or self._live == 0:
            return np.zeros(0, dtype=np.int64)
        sorted_ids, sorted_rows = self._lookup()
        at = np.searchsorted(sorted_ids, wanted)
        at = at[at < len(sorted_ids)]
        found = sorted_rows[at[np.isin(sorted_ids[at], wanted)]]
        return np.unique(found)

    def present(self, ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Return, for each of ``ids``, whether a live row holds it."""
        if len(ids) == 0 or self._live == 0 or int(ids.min()) > self._max_id:
            return np.zeros(len(ids), dtype=bool)  # the usual case: ids only grow
        sorted_ids, _ = self._lookup()
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        return np.asarray(sorted_ids[at] == ids)

    def memory_bytes(self) -> int:
        """Bytes held in memory: the row ids (the vectors are a memory-mapped file)."""
        return int(self._ids.nbytes)

    def disk_bytes(self, extra_files: Iterable[str] = ()) -> int:
        """Bytes of the committed files (the manifest, vectors, ids and ``extra_files``)."""
        names = [MANIFEST, VECTORS, *([self._ids_file] if self._ids_file else []), *extra_files]
        return sum(
            (self.directory / n).stat().st_size for n in names if (self.directory / n).exists()
        )

    # -- changing ------------------------------------------------------------------------------

    def append(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> NDArray[np.int64]:
        """Append vectors (checked by :func:`as_entries`) after the last row; return their rows.
        The data is on disk at once but committed only by :meth:`commit`."""
        start = self._rows
        with open(self.directory / VECTORS, "r+b") as handle:
            handle.seek(start * self.dimension * 4)
            handle.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
            handle.truncate()  # drop leftovers of a save that did not finish
        if start + len(ids) > len(self._ids):
            grown = np.full(max(start + len(ids), 2 * len(self._ids)), -1, dtype=np.int64)
            grown[:start] = self._ids[:start]
            self._ids = grown
        self._ids[start : start + len(ids)] = ids
        self._rows = start + len(ids)
        self._live += len(ids)
        self._max_id = max(self._max_id, int(ids.max()) if len(ids) else -1)
        self._remap()
        return np.arange(start, self._rows, dtype=np.int64)

    def kill(self, rows: NDArray[np.int64]) -> None:
        """Mark rows removed; their vectors are zeroed once the removal is committed."""
        if len(rows) == 0:
            return
        self._ids[rows] = -1
        self._live -= len(rows)
        self._ids_rewrite = True
        self._scrub.append(rows.copy())

    def commit(self, backend: str, files: dict[str, str], parameters: dict[str, Any]) -> None:
        """Make the current rows the committed state, with the backend's ``files`` (already
        written under their new names) and ``parameters``; then zero the vectors of removed rows
        and delete files no longer referenced."""
        version = self._version + 1
        vectors_path = self.directory / VECTORS
        with open(vectors_path, "r+b") as handle:
            handle.truncate(self._rows * self.dimension * 4)
        fsync_file(vectors_path)
        rows = self._ids[: self._rows].astype("<i8", copy=False)
        if self._ids_rewrite or self._ids_file is None:
            ids_file = f"ids-{version:08d}.i64"
            (self.directory / ids_file).write_bytes(rows.tobytes())
        else:
            ids_file = self._ids_file  # additions only: append after the committed rows
            with open(self.directory / ids_file, "r+b") as handle:
                handle.seek(self._committed_rows * 8)
                handle.write(rows[self._committed_rows :].tobytes())
                handle.truncate()
        fsync_file(self.directory / ids_file)
        manifest = {
            "format": FORMAT,
            "backend": backend,
            "dimension": self.dimension,
            "rows": self._rows,
            "live": self._live,
            "version": version,
            "ids_file": ids_file,
            "vectors_file": VECTORS,
            "files": files,
            "parameters": parameters,
        }
        write_json_atomically(self.directory / MANIFEST, manifest)  # the commit point
        self._version, self._ids_file, self._committed_rows = version, ids_file, self._rows
        self._ids_rewrite = False
        self._scrub_removed()
        keep = {MANIFEST, VECTORS, ids_file, *files.values()}
        for path in self.directory.iterdir():
            if path.is_file() and path.name not in keep:
                path.unlink(missing_ok=True)

    # -- internals -----------------------------------------------------------------------------

    def _lookup(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Return the live ids in ascending order and their rows (not kept: 16 bytes a row)."""
        live_rows = np.flatnonzero(self._ids[: self._rows] >= 0).astype(np.int64)
        live_ids = self._ids[live_rows]
        if len(live_ids) > 1 and not bool(np.all(live_ids[1:] > live_ids[:-1])):
            order = np.argsort(live_ids, kind="stable")  # rows out of id order: rare
            live_ids, live_rows = live_ids[order], live_rows[order]
        return live_ids, live_rows

    def _remap(self) -> None:
        if self._rows == 0:
            self._map = None
            return
        self._map = np.memmap(
            self.directory / VECTORS,
            dtype=np.float32,
            mode="r+",
            shape=(self._rows, self.dimension),
        )

    def _scrub_removed(self) -> None:
        """Zero the vectors of removed rows (pending ones, or all removed rows after open)."""
        if self._map is None:
            self._scrub = []
            return
        if self._scrub:
            rows = np.unique(np.concatenate(self._scrub))
        else:
            rows = np.flatnonzero(self._ids[: self._rows] < 0)
            if len(rows) == 0 or not np.any(self._map[rows]):
                return
        self._scrub = []
        if len(rows):
            self._map[rows] = 0.0
            self._map.flush()
