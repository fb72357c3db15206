"""Milvus behind :class:`~faceledger.gallery.index.VectorIndex`, through ``pymilvus``.

One Milvus collection per gallery: an INT64 primary key (the template id) and a
``FLOAT_VECTOR(dimension)`` field searched with the inner-product metric. The vectors are unit
length, so the inner product is the cosine and :func:`distance_from_cosine` turns it into the same
Euclidean distance the FAISS backends report.

The ``uri`` is either a Milvus Lite file (a path ending in ``.db``; pymilvus starts Milvus Lite for
it inside this process) or a cluster URI such as ``http://host:19530``; the code is the same.

Index types (:data:`INDEX_TYPES`):

- ``FLAT``: exact brute force; the default, and the only one that is not approximate.
- ``IVF_FLAT`` (``nlist`` 1024, searched with ``nprobe`` 64) and ``HNSW`` (``M`` 16,
  ``efConstruction`` 200, searched with ``ef`` 128 or ``k`` if larger): approximate, for large
  galleries; :func:`index_type_for_size` picks ``HNSW`` from ``approximate_from`` templates.
- ``AUTOINDEX``: the server's own choice (approximate).

Milvus Lite's documentation lists FLAT and IVF_FLAT (from 2.4.11) for Lite and everything for a
cluster; the Milvus Lite installed here (3.x, pure Python) also builds HNSW and maps AUTOINDEX to
HNSW. Lite searches unflushed rows by brute force and only uses the index on flushed segments;
:meth:`MilvusIndex.add` flushes after a bulk load (:data:`FLUSH_FROM` rows). Lite is for tests and
small deployments: every search costs it time in proportion to the collection size, in Python.

Every call runs at consistency level Strong, so a search right after an add sees it. The gallery
generation the collection was built from is stored as a collection property, so the index store
can tell a stale collection. A Lite server holds its file locked: one process at a time, and this
module shares one client per URI inside the process, stopping the Lite server when the last
:class:`MilvusIndex` over a file is closed.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import numpy as np
from numpy.typing import NDArray

from faceledger.errors import ConfigError, InvalidInput, NotFound
from faceledger.gallery.index import Hit, distance_from_cosine

INDEX_TYPES: dict[str, tuple[dict[str, int], dict[str, int]]] = {
    "FLAT": ({}, {}),
    "IVF_FLAT": ({"nlist": 1024}, {"nprobe": 64}),
    "HNSW": ({"M": 16, "efConstruction": 200}, {"ef": 128}),
    "AUTOINDEX": ({}, {}),
}
"""Index type -> (build parameters, search parameters)."""

MAX_TOP_K = 16_384
"""Milvus refuses a larger ``limit``; :meth:`MilvusIndex.search` caps ``k`` here."""

FLUSH_FROM = 10_000
"""An :meth:`MilvusIndex.add` of at least this many rows ends with a flush (a bulk load)."""

GENERATION_PROPERTY = "faceledger.generation"

_PRIMARY = "id"
_VECTOR = "vector"
_METRIC = "IP"
_BATCH_BYTES = 8 << 20  # well under gRPC's message limit
_ID_CHUNK = 4096  # ids per ``id in [...]`` expression
_QUERY_CHUNK = 1024  # queries per search request (Milvus caps nq)
_COLLECTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_T = TypeVar("_T")


def index_type_for_size(size: int, approximate_from: int = 1_000_000) -> str:
    """Return the index type for a gallery of ``size`` templates: FLAT below
    ``approximate_from``, HNSW from there."""
    return "FLAT" if size < approximate_from else "HNSW"


def _is_lite(uri: str) -> bool:
    return uri.endswith(".db")


def _redact(uri: str) -> str:
    """Return ``uri`` without a user name or password, for messages and ``describe()``."""
    if _is_lite(uri):
        return uri
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class _Connection:
    client: Any
    lite_path: str | None
    users: int = 1


_connections: dict[str, _Connection] = {}
_connections_lock = threading.Lock()


def _connection_key(uri: str) -> str:
    return os.path.abspath(uri) if _is_lite(uri) else uri


def _acquire(uri: str, timeout: float) -> Any:
    """Return the shared client for ``uri``, connecting (or starting Milvus Lite) if needed."""
    from pymilvus import MilvusClient, MilvusException  # type: ignore[import-untyped]

    key = _connection_key(uri)
    with _connections_lock:
        shared = _connections.get(key)
        if shared is not None:
            shared.users += 1
            return shared.client
        lite_path = key if _is_lite(uri) else None
        if lite_path is not None and os.path.exists(lite_path) and not os.path.isdir(lite_path):
            raise ConfigError(
                f"Milvus Lite file {uri} is not a Milvus Lite database (it is a plain file).",
                uri=uri,
            )
        try:
            client = MilvusClient(uri=key if lite_path else uri, timeout=timeout)
        except MilvusException as exc:
            if lite_path is not None:
                _release_lite(lite_path)
                raise ConfigError(
                    f"Cannot open the Milvus Lite file {uri}: its folder is missing, it is not a "
                    f"Milvus Lite database, or another process has it open ({exc.message}).",
                    uri=uri,
                ) from exc
            raise ConfigError(
                f"Cannot connect to Milvus at {_redact(uri)}: {exc.message}", uri=_redact(uri)
            ) from exc
        _connections[key] = _Connection(client, lite_path)
        return client


def _release(uri: str) -> None:
    """Give back a client from :func:`_acquire`; the last user closes it (and stops Lite)."""
    key = _connection_key(uri)
    with _connections_lock:
        shared = _connections.get(key)
        if shared is None:
            return
        shared.users -= 1
        if shared.users > 0:
            return
        del _connections[key]
        shared.client.close()
        if shared.lite_path is not None:
            _release_lite(shared.lite_path)


def _release_lite(path: str) -> None:
    # pymilvus's close() leaves the Lite server running until exit; stopping it flushes the file
    # and frees its lock.
    from milvus_lite.server_manager import (  # type: ignore[import-untyped]
        server_manager_instance,
    )

    server_manager_instance.release_server(path)


class MilvusIndex:
    """A gallery's vectors in one Milvus collection (Milvus Lite file or cluster).

    Raises :class:`ConfigError` naming the URI when Milvus cannot be reached or the file cannot be
    opened, and :class:`InvalidInput` for a bad collection name, an unknown index type or an
    existing collection of another dimension.
    """

    def __init__(
        self,
        uri: str,
        collection: str,
        dimension: int,
        *,
        index_type: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Open (or create) ``collection`` at ``uri``.

        ``index_type`` None keeps an existing collection's index and gives a new one FLAT; any
        other value (a key of :data:`INDEX_TYPES`) rebuilds an existing index of another type.
        ``timeout`` bounds every call to Milvus, in seconds.
        """
        if not uri:
            raise ConfigError("milvus_uri is empty: give a Milvus Lite .db path or a cluster URI.")
        if not _COLLECTION_NAME.fullmatch(collection):
            raise InvalidInput(
                f"Milvus collection name {collection!r} must be a letter or underscore followed "
                "by letters, digits or underscores (at most 255).",
                collection=collection,
            )
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension <= 0:
            raise InvalidInput(f"Vector dimension must be a positive integer, not {dimension!r}.")
        if index_type is not None and index_type not in INDEX_TYPES:
            raise InvalidInput(
                f"Unknown Milvus index type {index_type!r}; expected one of {sorted(INDEX_TYPES)}.",
                index_type=index_type,
            )
        self.uri = uri
        self.collection = collection
        self.dimension = dimension
        self._timeout = timeout
        self._lock = threading.Lock()
        self._closed = False
        self._dropped = False
        self._client = _acquire(uri, timeout)
        try:
            self.index_type = self._open_collection(index_type)
        except BaseException:
            self._closed = True
            _release(uri)
            raise

    # -- VectorIndex ------------------------------------------------------------------------

    @property
    def backend(self) -> str:
        """Always ``"milvus"``."""
        return "milvus"

    @property
    def approximate(self) -> bool:
        """Whether a search may miss a nearer template: True for every index but FLAT."""
        return self.index_type != "FLAT"

    def __len__(self) -> int:
        # Collection statistics lag deletes; a strong count(*) query is exact.
        rows = self._call(
            "count",
            self._client.query,
            self.collection,
            filter="",
            output_fields=["count(*)"],
            consistency_level="Strong",
        )
        return int(rows[0]["count(*)"])

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add unit vectors under ``ids``; an id already present is replaced (upsert).

        Raises :class:`InvalidInput` before writing anything when the shapes do not match, an id
        repeats or a value is not finite. Milvus has no transactions: if a later batch fails,
        earlier batches stay written (re-running the add is safe).
        """
        ids_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        matrix = self._as_matrix(vectors, "vectors")
        if len(ids_array) != len(matrix):
            raise InvalidInput(
                f"{len(ids_array)} ids for {len(matrix)} vectors.",
                ids=len(ids_array),
                vectors=len(matrix),
            )
        if len(np.unique(ids_array)) != len(ids_array):
            raise InvalidInput("The ids to add repeat an id.")
        if len(ids_array) == 0:
            return
        batch = max(1, _BATCH_BYTES // (4 * self.dimension))
        for start in range(0, len(ids_array), batch):
            rows = [
                {_PRIMARY: int(i), _VECTOR: v}
                for i, v in zip(
                    ids_array[start : start + batch], matrix[start : start + batch], strict=True
                )
            ]
            self._call("add to", self._client.upsert, self.collection, rows)
        if len(ids_array) >= FLUSH_FROM:
            self.flush()

    def remove(self, ids: Iterable[int]) -> int:
        """Remove the given ids; return how many were present."""
        wanted = sorted({int(i) for i in ids})
        present: list[int] = []
        for chunk in _chunks(wanted, _ID_CHUNK):
            rows = self._call(
                "look up ids in",
                self._client.query,
                self.collection,
                filter=f"{_PRIMARY} in {chunk}",
                output_fields=[_PRIMARY],
                consistency_level="Strong",
            )
            present.extend(int(row[_PRIMARY]) for row in rows)
        for chunk in _chunks(present, _ID_CHUNK):
            self._call("delete from", self._client.delete, self.collection, ids=chunk)
        return len(present)

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[Hit]]:
        """Return up to ``k`` (at most :data:`MAX_TOP_K`) nearest hits per query, nearest first.

        Raises :class:`InvalidInput` for queries of another dimension or with non-finite values.
        """
        matrix = self._as_matrix(queries, "queries")
        if k <= 0 or len(matrix) == 0:
            return [[] for _ in range(len(matrix))]
        limit = min(k, MAX_TOP_K)
        params = self._search_params(limit)
        results: list[list[Hit]] = []
        for start in range(0, len(matrix), _QUERY_CHUNK):
            answer = self._call(
                "search",
                self._client.search,
                self.collection,
                data=list(matrix[start : start + _QUERY_CHUNK]),
                limit=limit,
                anns_field=_VECTOR,
                # Only the primary key: an empty list makes Milvus Lite send every vector back.
                output_fields=[_PRIMARY],
                search_params={"metric_type": _METRIC, "params": params},
                consistency_level="Strong",
            )
            for row in answer:
                cosines = np.array([hit["distance"] for hit in row], dtype=np.float32)
                distances = distance_from_cosine(cosines)
                results.append(
                    [Hit(int(hit["id"]), float(d)) for hit, d in zip(row, distances, strict=True)]
                )
        return results

    def describe(self) -> dict[str, Any]:
        """Return the backend, whether it is approximate, the count and the search parameters."""
        build, search = INDEX_TYPES[self.index_type]
        return {
            "backend": self.backend,
            "approximate": self.approximate,
            "count": len(self),
            "parameters": {
                "uri": _redact(self.uri),
                "collection": self.collection,
                "index_type": self.index_type,
                "metric": _METRIC,
                **build,
                **search,
            },
        }

    # -- lifecycle ----------------------------------------------------------------------------

    def generation(self) -> int | None:
        """Return the gallery generation stored with the collection, or None if there is none."""
        info = self._call("describe", self._client.describe_collection, self.collection)
        value = (info.get("properties") or {}).get(GENERATION_PROPERTY)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None  # a foreign value: treat the collection as stale

    def set_generation(self, generation: int) -> None:
        """Store the gallery generation this collection now reflects."""
        if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
            raise InvalidInput(f"A generation is a non-negative integer, not {generation!r}.")
        self._call(
            "set the generation of",
            self._client.alter_collection_properties,
            self.collection,
            properties={GENERATION_PROPERTY: str(generation)},
        )

    def flush(self) -> None:
        """Seal the rows added so far into indexed segments (Milvus flushes on its own too)."""
        self._call("flush", self._client.flush, self.collection)

    def drop(self) -> None:
        """Drop the collection with its vectors and generation; the index is unusable after."""
        self._call("drop", self._client.drop_collection, self.collection)
        self._dropped = True

    def close(self) -> None:
        """Release this index's share of the client; the last one over a Lite file stops it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _release(self.uri)

    def __enter__(self) -> MilvusIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ------------------------------------------------------------------------------

    def _open_collection(self, index_type: str | None) -> str:
        """Create the collection or check an existing one; load it; return its index type."""
        client = self._client
        if not self._call("look for", client.has_collection, self.collection):
            try:
                self._create(index_type or "FLAT")
                return index_type or "FLAT"
            except ConfigError:
                # Another process may have created it first; otherwise report the failure.
                if not self._call("look for", client.has_collection, self.collection):
                    raise
        self._check_schema()
        current = self._current_index_type()
        if index_type is not None and index_type != current:
            self._call("release", client.release_collection, self.collection)
            if current is not None:
                self._call("drop the index of", client.drop_index, self.collection, _VECTOR)
            self._call(
                "index", client.create_index, self.collection, self._index_params(index_type)
            )
            current = index_type
        elif current is None:
            self._call("index", client.create_index, self.collection, self._index_params("FLAT"))
            current = "FLAT"
        self._call("load", client.load_collection, self.collection)
        return current

    def _create(self, index_type: str) -> None:
        from pymilvus import DataType

        client = self._client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(_PRIMARY, DataType.INT64, is_primary=True)
        schema.add_field(_VECTOR, DataType.FLOAT_VECTOR, dim=self.dimension)
        self._call(
            "create",
            client.create_collection,
            self.collection,
            schema=schema,
            index_params=self._index_params(index_type),
            consistency_level="Strong",
        )

    def _index_params(self, index_type: str) -> Any:
        params = self._client.prepare_index_params()
        params.add_index(
            field_name=_VECTOR,
            index_type=index_type,
            metric_type=_METRIC,
            params=dict(INDEX_TYPES[index_type][0]),
        )
        return params

    def _check_schema(self) -> None:
        info = self._call("describe", self._client.describe_collection, self.collection)
        fields = {field["name"]: field for field in info.get("fields", [])}
        vector = fields.get(_VECTOR)
        if _PRIMARY not in fields or vector is None:
            raise ConfigError(
                f"Milvus collection {self.collection} at {_redact(self.uri)} was not made by "
                f"faceledger: it has fields {sorted(fields)}, expected {_PRIMARY!r} and "
                f"{_VECTOR!r}.",
                collection=self.collection,
            )
        actual = int(vector.get("params", {}).get("dim", -1))
        if actual != self.dimension:
            raise InvalidInput(
                f"Milvus collection {self.collection} at {_redact(self.uri)} holds {actual}-d "
                f"vectors, expected {self.dimension}.",
                expected=self.dimension,
                actual=actual,
            )

    def _current_index_type(self) -> str | None:
        names = self._call("list the indexes of", self._client.list_indexes, self.collection)
        if _VECTOR not in names:
            return None
        info = self._call(
            "describe the index of", self._client.describe_index, self.collection, _VECTOR
        )
        metric = str(info.get("metric_type", ""))
        if metric.upper() != _METRIC:
            raise ConfigError(
                f"Milvus collection {self.collection} at {_redact(self.uri)} is indexed for "
                f"metric {metric}, expected {_METRIC}.",
                collection=self.collection,
            )
        index_type = str(info.get("index_type", "")).upper()
        return index_type if index_type in INDEX_TYPES else "AUTOINDEX"

    def _search_params(self, limit: int) -> dict[str, int]:
        params = dict(INDEX_TYPES[self.index_type][1])
        if "ef" in params:
            params["ef"] = max(params["ef"], limit)  # HNSW needs ef >= k
        return params

    def _as_matrix(self, values: NDArray[np.float32], what: str) -> NDArray[np.float32]:
        matrix = np.asarray(values, dtype=np.float32)
        if matrix.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if matrix.ndim == 1 and matrix.size == self.dimension:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != self.dimension:
            raise InvalidInput(
                f"The {what} have shape {matrix.shape}, expected (n, {self.dimension}).",
                expected=self.dimension,
                actual=list(matrix.shape),
            )
        if not np.isfinite(matrix).all():
            raise InvalidInput(f"The {what} hold a value that is not finite (NaN or infinity).")
        return matrix

    def _call(self, action: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run one pymilvus call; turn its exceptions into faceledger errors naming the URI."""
        from pymilvus import MilvusException

        if self._closed:
            raise ConfigError(f"The Milvus index {self.collection} has been closed.")
        if self._dropped:
            raise NotFound(
                f"Milvus collection {self.collection} at {_redact(self.uri)} was dropped."
            )
        try:
            return fn(*args, timeout=self._timeout, **kwargs)
        except MilvusException as exc:
            if exc.code == 100:  # collection not found
                raise NotFound(
                    f"Milvus collection {self.collection} at {_redact(self.uri)} does not exist.",
                    collection=self.collection,
                ) from exc
            raise ConfigError(
                f"Milvus at {_redact(self.uri)} could not {action} collection "
                f"{self.collection}: {exc.message}",
                uri=_redact(self.uri),
                collection=self.collection,
                milvus_code=exc.code,
            ) from exc


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
