"""One vector index per gallery, in memory and on disk, in step with the database.

The database bumps ``galleries.generation`` in the same transaction as every template change;
an index is current when it was built from, or updated up to, the gallery's generation.

Backends (setting ``index_backend``): ``flat`` (exact FAISS), ``hnsw`` and ``ivf`` (approximate
FAISS, re-ranked exactly), ``milvus`` (a Milvus Lite file or a cluster, ``milvus_uri``), or
``auto``: flat below ``index_approximate_from`` templates, ivf from there (an ivf gallery stays
ivf until it shrinks below half of that). The choice is made per gallery whenever its index is
built; a gallery that crosses the line, or whose index has many removed rows, is rebuilt in the
background while searches go on with the current index.

Files, for the FAISS backends::

    <directory>/gallery-<id>/current.json       generation, count, backend, dimension, directory
    <directory>/gallery-<id>/b<seq>.<pid>/      the index (see faceledger.gallery.faiss_indexes)
    <directory>/gallery-<id>/lock               a file lock: one process writes at a time

``current.json`` is written after the index files (atomically), so a crash between the two
leaves an older generation there and the index is rebuilt. For Milvus the generation is stored
in Milvus itself (collection ``gallery_<id>``).

Lifecycle:

* cold start (:meth:`IndexStore.get`): when ``current.json`` holds the gallery's generation the
  index is opened from its files (never a template read through Python); when it is stale or
  damaged, the index is rebuilt from the database and the caller waits for it.
* :meth:`IndexStore.apply`: after each committed change, its additions and removals are applied
  to the index and saved incrementally (FAISS: appended rows; a removal rewrites the codes
  file, ~40 bytes a face for ivf). An index that is not at the change's old generation is
  opened from disk if it is there, else rebuilt.
* :meth:`IndexStore.start_rebuild`: a rebuild in a background thread with
  :meth:`RebuildJob.progress`. Searches keep the current index meanwhile. Changes applied while
  it runs are journalled and replayed onto the new index (an addition is an upsert, a removal
  of an absent id does nothing, so a change the rebuild's read already saw is harmless); the new
  index is swapped in only if that brings it to the newest generation asked for, and otherwise
  discarded and the rebuild redone. A Milvus rebuild refills the collection in place and holds
  the gallery's searches until it is done.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faceledger.errors import ConfigError, FaceLedgerError, InvalidInput
from faceledger.gallery.faiss_indexes import FaissFlatIndex, FaissHnswIndex, FaissIvfIndex
from faceledger.gallery.index import Loader, VectorChunk, VectorIndex
from faceledger.gallery.vector_files import (
    MANIFEST,
    RowFiles,
    as_entries,
    write_json_atomically,
)

BACKEND_SETTINGS = ("auto", "flat", "hnsw", "ivf", "milvus")
_BACKEND_OF_SETTING = {
    "flat": "faiss-flat",
    "hnsw": "faiss-hnsw",
    "ivf": "faiss-ivf",
    "milvus": "milvus",
}
_FAISS = {c.backend: c for c in (FaissFlatIndex, FaissHnswIndex, FaissIvfIndex)}
FaissIndex = FaissFlatIndex | FaissHnswIndex | FaissIvfIndex
CURRENT = "current.json"


def array_loader(
    ids: NDArray[np.int64], vectors: NDArray[np.float32], chunk_rows: int = 65_536
) -> Loader:
    """Return a loader over arrays already in memory (tests and benchmarks)."""

    def load() -> Iterator[VectorChunk]:
        for start in range(0, len(ids), chunk_rows):
            stop = start + chunk_rows
            yield VectorChunk(ids[start:stop], vectors[start:stop], len(ids))

    return load


@dataclass(frozen=True)
class RebuildProgress:
    """Where a rebuild is: ``state`` is loading (templates read from the database), indexing
    (FAISS training and adding), saving, done, failed or discarded (superseded by a newer
    generation; a rebuild for it follows)."""

    gallery_id: int
    generation: int
    backend: str | None
    state: str
    done: int
    total: int
    error: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the rebuild has ended (done, failed or discarded)."""
        return self.state in ("done", "failed", "discarded")

    def to_dict(self) -> dict[str, Any]:
        """Return the progress as JSON-ready data."""
        return dict(self.__dict__)


class RebuildJob:
    """A rebuild of one gallery's index running in a background thread."""

    def __init__(self, gallery_id: int, generation: int, loader: Loader) -> None:
        self.gallery_id, self.generation, self.loader = gallery_id, generation, loader
        self.backend: str | None = None
        self.directory: str | None = None  # the FAISS index directory it writes
        self.state, self.done, self.total = "loading", 0, 0
        self.error: BaseException | None = None
        self.successor: RebuildJob | None = None
        self.cancelled = False
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None

    def progress(self) -> RebuildProgress:
        """Return the progress of this rebuild, or of the one that superseded it."""
        job = self._last()
        return RebuildProgress(
            job.gallery_id,
            job.generation,
            job.backend,
            job.state,
            job.done,
            job.total,
            None if job.error is None else str(job.error),
        )

    def wait(self, timeout: float | None = None) -> RebuildProgress:
        """Wait until this rebuild (and any that superseded it) has ended, or ``timeout``
        seconds; return its progress."""
        job = self
        while True:
            if not job._finished.wait(timeout):
                break
            if job.successor is None:
                break
            job = job.successor
        return self.progress()

    def raise_for_failure(self) -> None:
        """Raise the error a failed rebuild (or its successor) ended with; nothing otherwise."""
        job = self._last()
        if job.state == "failed" and job.error is not None:
            raise job.error

    def _last(self) -> RebuildJob:
        job = self
        while job.successor is not None:
            job = job.successor
        return job

    def _advance(self, rows: int) -> None:
        self.done += rows

    def _end(self, state: str, error: BaseException | None = None) -> None:
        self.state, self.error = state, error
        self._finished.set()


@dataclass
class _Entry:
    index: Any  # a FAISS index, or a MilvusIndex
    generation: int
    directory: str | None  # the FAISS index's sub-directory; None for Milvus


@dataclass
class _Change:
    old: int
    new: int
    add_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    add_vectors: NDArray[np.float32] | None = None
    remove: list[int] = field(default_factory=list)


class IndexStore:
    """Keeps one index per gallery in memory and on disk, in step with the database."""

    def __init__(
        self,
        directory: Path,
        dimension: int,
        backend_setting: str = "auto",
        approximate_from: int = 1_000_000,
        milvus_uri: str = "",
    ) -> None:
        """Keep the indexes of ``dimension``-d vectors under ``directory``, choosing backends
        by ``backend_setting`` (one of :data:`BACKEND_SETTINGS`) and ``approximate_from``;
        ``milvus_uri`` empty means the Milvus Lite file ``directory/milvus.db``.

        Raises:
            ConfigError: for an unknown backend setting or a negative threshold.
        """
        if backend_setting not in BACKEND_SETTINGS:
            raise ConfigError(
                f"index_backend {backend_setting!r} is not one of {', '.join(BACKEND_SETTINGS)}.",
                setting="index_backend",
            )
        if approximate_from < 0:
            raise ConfigError("index_approximate_from must not be negative.")
        self.directory, self.dimension = directory, dimension
        self.backend_setting, self.approximate_from = backend_setting, approximate_from
        self.milvus_uri = milvus_uri or str(directory / "milvus.db")
        self._entries: dict[int, _Entry] = {}
        self._jobs: dict[int, RebuildJob] = {}
        self._journals: dict[int, list[_Change]] = {}
        self._wanted: dict[int, int] = {}
        self._locks: dict[int, threading.RLock] = {}
        self._milvus_indexes: dict[int, Any] = {}
        self._guard = threading.Lock()

    # -- choosing -------------------------------------------------------------------------------

    def backend_for(self, count: int, current: str | None = None) -> str:
        """Return the backend a gallery of ``count`` templates gets, whose index is
        ``current`` now (the auto rule: see the module docstring)."""
        if self.backend_setting != "auto":
            return _BACKEND_OF_SETTING[self.backend_setting]
        if current == "faiss-ivf" and count >= self.approximate_from // 2:
            return "faiss-ivf"
        return "faiss-ivf" if count >= self.approximate_from else "faiss-flat"

    # -- the use -------------------------------------------------------------------------------

    def get(self, gallery_id: int, generation: int, loader: Loader) -> VectorIndex:
        """Return the index of a gallery at ``generation`` (or newer): in memory, else opened
        from its files, else rebuilt from the database while the caller waits.

        Raises:
            FaceLedgerError, OSError: if the rebuild fails (the error it failed with).
        """
        for _ in range(10):
            with self._lock(gallery_id):
                self._want(gallery_id, generation)
                entry = self._entries.get(gallery_id)
                if entry is not None and entry.generation >= generation:
                    index: VectorIndex = entry.index
                    return index
                opened = self._open_existing(gallery_id, generation)
                if opened is not None:
                    self._install(gallery_id, opened)
                    self._maybe_rebuild(gallery_id, opened, loader)
                    index = opened.index
                    return index
                job = self._running(gallery_id) or self._start(gallery_id, generation, loader)
            job.wait()
            job.raise_for_failure()
        raise FaceLedgerError(
            f"The index of gallery {gallery_id} did not reach generation {generation}.",
            gallery_id=gallery_id,
        )

    def start_rebuild(self, gallery_id: int, generation: int, loader: Loader) -> RebuildJob:
        """Start rebuilding a gallery's index from the database in the background (or return
        the rebuild already running, which will reach ``generation``); searches keep the
        current index until the new one is swapped in."""
        with self._lock(gallery_id):
            self._want(gallery_id, generation)
            return self._running(gallery_id) or self._start(gallery_id, generation, loader)

    def rebuild(self, gallery_id: int, generation: int, loader: Loader) -> VectorIndex:
        """Rebuild a gallery's index from the database and wait for it; return it.

        Raises:
            FaceLedgerError, OSError: if the rebuild fails.
        """
        job = self.start_rebuild(gallery_id, generation, loader)
        job.wait()
        job.raise_for_failure()
        return self.get(gallery_id, generation, loader)

    def job(self, gallery_id: int) -> RebuildJob | None:
        """Return the gallery's running or last rebuild, if any."""
        with self._guard:
            return self._jobs.get(gallery_id)

    def apply(
        self,
        gallery_id: int,
        old_generation: int,
        new_generation: int,
        loader: Loader,
        add: tuple[NDArray[np.int64], NDArray[np.float32]] | None = None,
        remove: Iterable[int] = (),
    ) -> None:
        """Apply a committed change (``old_generation`` -> ``new_generation``) to the index and
        save it; an index that was not at ``old_generation`` is rebuilt instead."""
        change = _Change(old_generation, new_generation, remove=list(remove))
        if add is not None and len(add[0]):
            change.add_ids, change.add_vectors = as_entries(add[0], add[1], self.dimension)
        with self._lock(gallery_id):
            self._want(gallery_id, new_generation)
            running = self._running(gallery_id)
            if running is not None:
                self._journals.setdefault(gallery_id, []).append(change)
            entry = self._entries.get(gallery_id)
            if entry is None or entry.generation < old_generation:
                opened = self._open_existing(gallery_id, old_generation)
                if opened is not None:
                    self._install(gallery_id, opened)
                    entry = opened
            if entry is not None and entry.generation >= new_generation:
                return
            if entry is not None and entry.generation == old_generation:
                _replay(entry.index, change)
                entry.generation = new_generation
                self._persist(gallery_id, entry)
                self._maybe_rebuild(gallery_id, entry, loader)
                return
            if running is not None:
                return  # the rebuild replays the journal
            job = self._start(gallery_id, new_generation, loader)
        job.wait()
        job.raise_for_failure()

    def drop(self, gallery_id: int) -> None:
        """Forget a deleted gallery's index and remove its files (or its Milvus collection)."""
        with self._lock(gallery_id):
            self._entries.pop(gallery_id, None)
            running = self._running(gallery_id)
            if running is not None:
                running.cancelled = True
            self._wanted.pop(gallery_id, None)
            if self.backend_setting == "milvus":
                index = self._milvus(gallery_id)
                index.drop()
                index.close()
                self._milvus_indexes.pop(gallery_id, None)
            shutil.rmtree(self._gallery_dir(gallery_id), ignore_errors=True)

    def close(self) -> None:
        """Wait for running rebuilds and release the indexes (Milvus clients)."""
        with self._guard:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.wait()
        for index in self._milvus_indexes.values():
            index.close()
        self._milvus_indexes.clear()
        self._entries.clear()

    # -- opening -------------------------------------------------------------------------------

    def _gallery_dir(self, gallery_id: int) -> Path:
        return self.directory / f"gallery-{gallery_id}"

    def _read_current(self, gallery_id: int) -> dict[str, Any] | None:
        try:
            meta = json.loads((self._gallery_dir(gallery_id) / CURRENT).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) else None

    def _open_existing(self, gallery_id: int, generation: int) -> _Entry | None:
        """Return the saved index if it is at ``generation`` or newer, else None."""
        if self.backend_setting == "milvus":
            index = self._milvus(gallery_id)
            stored = index.generation()
            if stored is None or stored < generation:
                return None
            return _Entry(index, stored, None)
        with self._file_lock(gallery_id):
            meta = self._read_current(gallery_id)
            if (
                meta is None
                or not isinstance(meta.get("generation"), int)
                or meta["generation"] < generation
                or meta.get("dimension") != self.dimension
                or meta.get("backend") not in _FAISS
            ):
                return None
            try:
                path = self._gallery_dir(gallery_id) / str(meta["directory"])
                index = _FAISS[meta["backend"]].open(path, self.dimension)
            except (InvalidInput, OSError, RuntimeError, ValueError, KeyError, TypeError):
                return None  # missing, partial or foreign files: rebuild from the database
            if len(index) != meta.get("count"):
                return None
            return _Entry(index, meta["generation"], str(meta["directory"]))

    def _milvus(self, gallery_id: int, index_type: str | None = None) -> Any:
        """Return the gallery's Milvus collection, opened once (``index_type``: for a new
        collection, see :class:`~faceledger.gallery.milvus_index.MilvusIndex`)."""
        from faceledger.gallery.milvus_index import MilvusIndex  # only when Milvus is chosen

        index = self._milvus_indexes.get(gallery_id)
        if index is None:
            index = MilvusIndex(
                self.milvus_uri, f"gallery_{gallery_id}", self.dimension, index_type=index_type
            )
            self._milvus_indexes[gallery_id] = index
        return index

    # -- saving --------------------------------------------------------------------------------

    def _persist(self, gallery_id: int, entry: _Entry) -> None:
        """Save an index and record its generation, unless the disk holds a newer one."""
        if entry.directory is None:
            entry.index.set_generation(entry.generation)
            return
        with self._file_lock(gallery_id):
            meta = self._read_current(gallery_id)
            if meta is not None and int(meta.get("generation", -1)) > entry.generation:
                return  # another process saved a newer generation: keep it
            if not (self._gallery_dir(gallery_id) / entry.directory).is_dir():
                return  # replaced by another process's rebuild
            entry.index.save()
            write_json_atomically(
                self._gallery_dir(gallery_id) / CURRENT,
                {
                    "generation": entry.generation,
                    "count": len(entry.index),
                    "backend": entry.index.backend,
                    "dimension": self.dimension,
                    "directory": entry.directory,
                },
            )

    # -- rebuilding ----------------------------------------------------------------------------

    def _start(self, gallery_id: int, generation: int, loader: Loader) -> RebuildJob:
        """Start a rebuild thread (the gallery lock is held)."""
        job = RebuildJob(gallery_id, generation, loader)
        with self._guard:
            self._jobs[gallery_id] = job
        job._thread = threading.Thread(
            target=self._run, args=(job,), name=f"index-rebuild-{gallery_id}", daemon=True
        )
        job._thread.start()
        return job

    def _running(self, gallery_id: int) -> RebuildJob | None:
        with self._guard:
            job = self._jobs.get(gallery_id)
        return job if job is not None and not job._finished.is_set() else None

    def _run(self, job: RebuildJob) -> None:
        try:
            if self.backend_setting == "milvus":
                self._rebuild_milvus(job)
            else:
                self._rebuild_faiss(job)
        except Exception as exc:  # reported through the job, raised to whoever waits
            with self._lock(job.gallery_id):
                self._end_job(job, "failed", exc)

    def _rebuild_faiss(self, job: RebuildJob) -> None:
        gallery_dir = self._gallery_dir(job.gallery_id)
        gallery_dir.mkdir(parents=True, exist_ok=True)
        with self._lock(job.gallery_id):
            name = job.directory = self._new_directory_name(gallery_dir)
            rows = RowFiles.create(gallery_dir / name, self.dimension)
        try:
            for chunk in _stream(job.loader):
                ids, vectors = as_entries(chunk.ids, chunk.vectors, self.dimension)
                job.total = max(chunk.total, job.done + len(ids))
                rows.append(ids, vectors)
                job._advance(len(ids))
            current = self._entries.get(job.gallery_id)
            job.backend = self.backend_for(
                rows.live, None if current is None else current.index.backend
            )
            job.state, job.done, job.total = "indexing", 0, rows.rows
            index = _FAISS[job.backend].from_rows(rows, job._advance)
            job.state = "saving"
            index.save()
        except BaseException:
            shutil.rmtree(gallery_dir / name, ignore_errors=True)
            raise
        with self._lock(job.gallery_id):
            self._swap(job, _Entry(index, job.generation, name))

    def _rebuild_milvus(self, job: RebuildJob) -> None:
        from faceledger.gallery.milvus_index import index_type_for_size

        job.backend = "milvus"
        with self._lock(job.gallery_id):  # searches of this gallery wait: refilled in place
            # Changes journalled before this point are committed, so the read below sees them.
            self._journals.pop(job.gallery_id, None)
            self._entries.pop(job.gallery_id, None)
            old = self._milvus(job.gallery_id)
            old.drop()
            old.close()
            self._milvus_indexes.pop(job.gallery_id, None)
            index = None
            for chunk in _stream(job.loader):
                ids, vectors = as_entries(chunk.ids, chunk.vectors, self.dimension)
                job.total = max(chunk.total, job.done + len(ids))
                if index is None:
                    kind = index_type_for_size(job.total, self.approximate_from)
                    index = self._milvus(job.gallery_id, kind)
                index.add(ids, vectors)
                job._advance(len(ids))
            if index is None:
                index = self._milvus(job.gallery_id, "FLAT")
            self._swap(job, _Entry(index, job.generation, None))

    def _swap(self, job: RebuildJob, entry: _Entry) -> None:
        """Bring a rebuilt index up to date with the journal and install it, or discard it
        (the gallery lock is held)."""
        gallery_id = job.gallery_id
        for change in self._journals.get(gallery_id, []):
            if change.old <= entry.generation < change.new:
                _replay(entry.index, change)
                entry.generation = change.new
        current = self._entries.get(gallery_id)
        newest = max(
            self._wanted.get(gallery_id, job.generation),
            current.generation if current is not None else -1,
        )
        if job.cancelled or entry.generation < newest:
            self._discard(entry)
            if job.cancelled:
                self._end_job(job, "discarded")
                return
            job.successor = self._start(gallery_id, newest, job.loader)
            job._end("discarded")
            return
        self._persist(gallery_id, entry)
        self._install(gallery_id, entry)
        self._end_job(job, "done")

    def _end_job(self, job: RebuildJob, state: str, error: BaseException | None = None) -> None:
        if self._running(job.gallery_id) is job:
            self._journals.pop(job.gallery_id, None)
        job._end(state, error)

    def _install(self, gallery_id: int, entry: _Entry) -> None:
        """Make ``entry`` the gallery's index; delete the index files nothing uses any more."""
        self._entries[gallery_id] = entry
        if entry.directory is not None:
            self._remove_unused(gallery_id, keep={entry.directory})

    def _discard(self, entry: _Entry) -> None:
        if entry.directory is not None:
            shutil.rmtree(entry.index.directory, ignore_errors=True)

    def _maybe_rebuild(self, gallery_id: int, entry: _Entry, loader: Loader) -> None:
        """Start a background rebuild if the gallery should change backend or its index has
        degraded (the gallery lock is held)."""
        if self._running(gallery_id) is not None:
            return
        backend = entry.index.backend
        wants = getattr(entry.index, "wants_rebuild", None)
        if self.backend_for(len(entry.index), backend) != backend or (callable(wants) and wants()):
            self._start(gallery_id, entry.generation, loader)

    def _new_directory_name(self, gallery_dir: Path) -> str:
        numbers = [
            int(p.name[1:].split(".")[0])
            for p in gallery_dir.glob("b*")
            if p.is_dir() and p.name[1:].split(".")[0].isdigit()
        ]
        return f"b{max(numbers, default=0) + 1:08d}.{os.getpid()}"

    def _remove_unused(self, gallery_id: int, keep: set[str]) -> None:
        """Delete the gallery's index directories but ``keep``, the one current on disk and
        one a rebuild of this process is writing. Another live process's directory is kept
        while it has no manifest (it may be building it); a finished one is deleted even if that
        process still reads it (its memory maps stay valid; it will not save into it)."""
        gallery_dir = self._gallery_dir(gallery_id)
        running = self._running(gallery_id)
        if running is not None and running.directory is not None:
            keep = keep | {running.directory}
        with self._file_lock(gallery_id):
            meta = self._read_current(gallery_id)
            if meta is not None:
                keep = keep | {str(meta.get("directory"))}
            for path in gallery_dir.glob("b*"):
                if not path.is_dir() or path.name in keep:
                    continue
                _, _, pid = path.name.partition(".")
                building = not (path / MANIFEST).exists()
                if building and pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                    continue
                shutil.rmtree(path, ignore_errors=True)

    # -- locks ---------------------------------------------------------------------------------

    def _lock(self, gallery_id: int) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(gallery_id, threading.RLock())

    def _want(self, gallery_id: int, generation: int) -> None:
        self._wanted[gallery_id] = max(self._wanted.get(gallery_id, generation), generation)

    @contextlib.contextmanager
    def _file_lock(self, gallery_id: int) -> Iterator[None]:
        gallery_dir = self._gallery_dir(gallery_id)
        gallery_dir.mkdir(parents=True, exist_ok=True)
        with open(gallery_dir / "lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _stream(loader: Loader) -> Iterator[VectorChunk]:
    """Yield a loader's chunks, closing its stream (its database session) however it ends."""
    chunks = loader()
    try:
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


def _replay(index: Any, change: _Change) -> None:
    """Apply a change to an index as an upsert: removals of absent ids do nothing, and an
    addition replaces the id if the index already holds it."""
    if change.remove:
        index.remove(change.remove)
    if len(change.add_ids):
        assert change.add_vectors is not None
        try:
            index.add(change.add_ids, change.add_vectors)
        except InvalidInput:
            index.remove(change.add_ids.tolist())  # already held: the rebuild saw it
            index.add(change.add_ids, change.add_vectors)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
