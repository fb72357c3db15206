"""Vector indexes at scale: exact FAISS against the approximate backends, 1M to 10M faces.

The faces are SYNTHETIC and stand in for sface templates: each enrolled identity is a Gaussian
vector in 128-d made a unit vector; a mated probe is an enrolled vector plus Gaussian noise
(per-probe scale 0.1 * exp(0.29 z)), normalised again, so that its distance to its mate has the
spread of the real sface genuine distances on lfw-dev (median 0.82, see ``REAL_GENUINE``); a
non-mated probe is a fresh vector. The gallery is generated in chunks of a seeded RNG straight
into a memory-mapped ``.npy`` (10M x 128 float32 is 5.1 GB), so the first N rows of a larger
file are the gallery of size N.

For each size and backend (``flat`` exact = the baseline, ``hnsw``, ``ivf``, ``milvus``):

  * build: a worker subprocess builds the index from the vectors and saves it (build time);
  * cold start: a FRESH subprocess opens the saved index and answers its first search
    (in-process time, and wall time from spawning the process, imports included);
  * memory: resident-set growth of that process (anonymous and file-backed pages), after the
    first search and after all searches, and the index's own ``memory_bytes()``;
  * disk: ``disk_bytes()``;
  * search: p50/p99 on ONE thread (OMP_NUM_THREADS=1), one query at a time, k=10 and k=40 (the
    service over-fetches k*4);
  * recall@1 and @10 against the exact top-k of the same queries (raw FAISS, chunked), for mated
    and non-mated probes, and the ratio of each p50 to the flat p50 at that size in this run;
  * a small update: add 1,000 faces, remove 1,000, save.

``--service`` also measures the end-to-end path of ``bench_search.py --extra N``: a data
directory holding a gallery of the 54 shared photos plus N random templates, then fresh
processes that open the service and run their first search, with no index files (the index is
built from the database) and with them.

Workers keep the anonymous resident memory under ``--memory-limit-gb`` (default 14) and stop
with a clear status when it would be exceeded. Run one size at a time for long runs.

    .venv/bin/python benchmarks/bench_index.py [--sizes 1000000,2000000,5000000,10000000]
        [--backends flat,hnsw,ivf,milvus] [--queries 1000] [--data DIR] [--json OUT]
        [--service] [--service-extra 1000000] [--service-dir DIR] [--service-only]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import percentile

DIMENSION = 128
CHUNK_ROWS = 1 << 18  # one seeded RNG stream per chunk: a prefix of a file is a smaller gallery
NOISE_SCALE, NOISE_SPREAD = 0.1, 0.29
# sface genuine distances on lfw-dev (Euclidean between unit vectors) at the 10/25/50/75/90th
# percentile: the FNMR column of roc.csv from benchmarks/bench_accuracy.py (issue 9 run).
REAL_GENUINE = (0.658, 0.734, 0.817, 0.904, 0.989)
QUANTILES = (10, 25, 50, 75, 90)
KS = (10, 40)
UPDATE_ROWS = 1_000
INDEX_CLASSES = {"flat": "FaissFlatIndex", "hnsw": "FaissHnswIndex", "ivf": "FaissIvfIndex"}
BACKENDS = ("flat", "hnsw", "ivf", "milvus", "raw-flat")
ROOT = Path(__file__).resolve().parents[1]


# --- synthetic faces -------------------------------------------------------------------------


def unit_rows(rng: np.random.Generator, rows: int) -> NDArray[np.float32]:
    """Return ``rows`` Gaussian vectors made unit length."""
    block = rng.standard_normal((rows, DIMENSION), dtype=np.float32)
    block /= np.linalg.norm(block, axis=1, keepdims=True)
    return block


def gallery_file(data: Path, size: int, seed: int) -> Path:
    """Return a memory-mappable ``.npy`` of at least ``size`` synthetic faces, writing it if
    no file of this seed is large enough (an existing larger one is reused as a prefix)."""
    for path in sorted(data.glob(f"gallery-s{seed}-*.npy")):
        if int(path.stem.rsplit("-", 1)[1]) >= size:
            return path
    path = data / f"gallery-s{seed}-{size}.npy"
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(size, DIMENSION))
    for number, start in enumerate(range(0, size, CHUNK_ROWS)):
        rows = min(CHUNK_ROWS, size - start)
        out[start : start + rows] = unit_rows(np.random.default_rng([seed, number]), rows)
    out.flush()
    del out
    os.replace(tmp, path)
    return path


def gallery(path: Path, size: int) -> NDArray[np.float32]:
    """Return the first ``size`` faces of a gallery file, memory-mapped read-only."""
    vectors: NDArray[np.float32] = np.load(path, mmap_mode="r")[:size]
    return vectors


def probes(
    vectors: NDArray[np.float32], count: int, seed: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Return ``count`` probes, the first half mated, and each probe's mate id (-1: none).

    Ids are row + 1 (template ids start at 1)."""
    rng = np.random.default_rng([seed, 1 << 30, len(vectors)])
    mated = count // 2
    rows = np.sort(rng.choice(len(vectors), size=mated, replace=False))
    scale = NOISE_SCALE * np.exp(NOISE_SPREAD * rng.standard_normal((mated, 1)))
    noisy = vectors[rows] + (scale * rng.standard_normal((mated, DIMENSION))).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    queries = np.vstack([noisy, unit_rows(rng, count - mated)]).astype(np.float32)
    mates = np.concatenate([rows + 1, np.full(count - mated, -1)]).astype(np.int64)
    return queries, mates


def exact_top(
    vectors: NDArray[np.float32], queries: NDArray[np.float32], k: int, threads: int
) -> NDArray[np.int64]:
    """Return the ids of the exact top-``k`` of each query (inner product), scanning the
    gallery one million rows at a time with raw FAISS."""
    import faiss

    faiss.omp_set_num_threads(threads)
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, len(vectors), 1_000_000):
        flat = faiss.IndexFlatIP(DIMENSION)
        flat.add(np.ascontiguousarray(vectors[start : start + 1_000_000]))
        scores, rows = flat.search(queries, k)
        all_s = np.hstack([best_s, scores])
        all_i = np.hstack([best_i, rows.astype(np.int64) + start + 1])
        order = np.argsort(-all_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(all_s, order, axis=1)
        best_i = np.take_along_axis(all_i, order, axis=1)
    return best_i


# --- memory of this process --------------------------------------------------------------------


def resident() -> tuple[int, int]:
    """Return this process's resident anonymous and file-backed bytes (Linux /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile", "RssShmem"):
            fields[name] = int(value.split()[0]) * 1024
    return fields["RssAnon"] + fields.get("RssShmem", 0), fields["RssFile"]


def mem_available() -> int:
    """Return the machine's available memory in bytes (MemAvailable, as ``free`` shows it)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


class Watchdog:
    """Samples resident memory; records the peak and stops the process past a limit."""

    def __init__(self, limit: int, out: Path) -> None:
        self.limit, self.out, self.peak_anon, self.peak_total = limit, out, 0, 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            anon, file = resident()
            self.peak_anon, self.peak_total = (
                max(self.peak_anon, anon),
                max(self.peak_total, anon + file),
            )
            if anon > self.limit:
                status = f"stopped: anonymous RSS {anon / 1e9:.1f} GB > {self.limit / 1e9:.1f} GB"
                self.out.write_text(json.dumps({"status": status, "peak_anon": anon}))
                os._exit(3)
            time.sleep(0.5)


# --- backends ----------------------------------------------------------------------------------


class RawFlat:
    """Exact search with raw FAISS (IDMap2 over FlatIP), the harness's own reference."""

    backend, approximate = "raw-flat", False

    def __init__(self, directory: Path, index: Any) -> None:
        self.directory, self.index = directory, index

    @classmethod
    def build(
        cls, directory: Path, dimension: int, ids: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> RawFlat:
        """Build from unit vectors."""
        import faiss

        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        for start in range(0, len(ids), CHUNK_ROWS):
            stop = start + CHUNK_ROWS
            index.add_with_ids(np.ascontiguousarray(vectors[start:stop]), ids[start:stop])
        directory.mkdir(parents=True, exist_ok=True)
        return cls(directory, index)

    @classmethod
    def open(cls, directory: Path, dimension: int) -> RawFlat:
        """Read the saved index."""
        import faiss

        return cls(directory, faiss.read_index(str(directory / "flat.faiss")))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def save(self) -> None:
        """Write the index file."""
        import faiss

        faiss.write_index(self.index, str(self.directory / "flat.faiss"))

    def search(self, queries: NDArray[np.float32], k: int) -> list[list[tuple[int, float]]]:
        """Return (id, score) lists."""
        scores, ids = self.index.search(queries, k)
        return [
            list(zip(r.tolist(), s.tolist(), strict=True)) for r, s in zip(ids, scores, strict=True)
        ]

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        """Add vectors."""
        self.index.add_with_ids(vectors, ids)

    def remove(self, ids: NDArray[np.int64]) -> int:
        """Remove ids."""
        import faiss

        return int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))

    def memory_bytes(self) -> int:
        """Vectors and ids held."""
        return int(self.index.ntotal) * (DIMENSION * 4 + 8)

    def describe(self) -> str:
        """What this is."""
        return "raw FAISS IDMap2(FlatIP), exact"


class MilvusAdapter:
    """Builds and opens ``MilvusIndex`` (a Milvus Lite file in the index directory)."""

    @staticmethod
    def _cls() -> Any:
        return importlib.import_module("faceledger.gallery.milvus_index").MilvusIndex

    @classmethod
    def build(
        cls, directory: Path, dimension: int, ids: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> Any:
        """Create the collection and add the vectors in batches."""
        directory.mkdir(parents=True, exist_ok=True)
        module = importlib.import_module("faceledger.gallery.milvus_index")
        index_type = module.index_type_for_size(len(ids))  # the service's own rule
        index = cls._cls()(str(directory / "milvus.db"), "bench", dimension, index_type=index_type)
        for start in range(0, len(ids), 50_000):
            stop = start + 50_000
            index.add(ids[start:stop], np.ascontiguousarray(vectors[start:stop]))
        return index

    @classmethod
    def open(cls, directory: Path, dimension: int) -> Any:
        """Connect to the existing collection."""
        return cls._cls()(str(directory / "milvus.db"), "bench", dimension)


def index_class(backend: str) -> Any:
    """Return the class (or adapter) with ``build`` and ``open`` for ``backend``."""
    if backend == "raw-flat":
        return RawFlat
    if backend == "milvus":
        return MilvusAdapter
    module = importlib.import_module("faceledger.gallery.faiss_indexes")
    return getattr(module, INDEX_CLASSES[backend])


def available(backend: str) -> str | None:
    """Return why ``backend`` cannot run here, or None."""
    module = {"milvus": "faceledger.gallery.milvus_index", "raw-flat": None}.get(
        backend, "faceledger.gallery.faiss_indexes"
    )
    if module is None:
        return None
    try:
        index_class(backend)
    except (ImportError, AttributeError) as exc:
        return f"not available: {exc}"
    return None


def hit_ids(rows: Sequence[Sequence[Any]]) -> list[list[int]]:
    """Return the ids of search hits, whether ``Hit`` objects or (id, score) pairs."""
    return [[h.template_id if hasattr(h, "template_id") else int(h[0]) for h in r] for r in rows]


def directory_bytes(directory: Path) -> int:
    """Return the bytes of every file under ``directory``."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def closed(index: Any) -> dict[str, Any]:
    """Close ``index`` if it can be (Milvus Lite persists then); return nothing to record."""
    call_or_none(index, "close")
    return {}


def call_or_none(obj: Any, name: str) -> Any:
    """Return ``obj.name()`` if it exists, else None."""
    method = getattr(obj, name, None)
    return method() if callable(method) else None


# --- workers (fresh subprocesses) ------------------------------------------------------------


def build_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Build and save an index; return the timings and sizes."""
    import faiss

    faiss.omp_set_num_threads(spec["threads"])
    vectors = gallery(Path(spec["gallery"]), spec["size"])
    ids = np.arange(1, spec["size"] + 1, dtype=np.int64)
    directory = Path(spec["directory"])
    anon0, _ = resident()
    start, cpu = time.perf_counter(), time.process_time()
    index = index_class(spec["backend"]).build(directory, DIMENSION, ids, vectors)
    built = time.perf_counter()
    call_or_none(index, "save")
    saved = time.perf_counter()
    anon1, _ = resident()
    return {
        "build_s": saved - start,
        "build_cpu_s": time.process_time() - cpu,
        "save_s": saved - built,
        "count": len(index),
        "memory_bytes": call_or_none(index, "memory_bytes"),
        "disk_bytes": call_or_none(index, "disk_bytes") or directory_bytes(directory),
        "build_anon_delta": anon1 - anon0,
        "describe": call_or_none(index, "describe"),
        "approximate": bool(getattr(index, "approximate", False)),
    } | closed(index)


def query_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Open a saved index cold, search every query one at a time on one thread, then apply a
    small update; return the timings, memory, and the ids found (in ``spec['ids']``)."""
    import faiss

    faiss.omp_set_num_threads(1)
    queries: NDArray[np.float32] = np.load(spec["queries"])
    cls = index_class(spec["backend"])
    directory = Path(spec["directory"])
    anon0, file0 = resident()
    ready = time.time()
    start = time.perf_counter()
    index = cls.open(directory, DIMENSION)
    if spec.get("tune"):
        index.tune(**spec["tune"])
    opened = time.perf_counter()
    index.search(queries[:1], KS[0])
    first = time.perf_counter()
    answered = time.time()
    anon1, file1 = resident()
    found: dict[int, list[list[int]]] = {}
    times: dict[int, list[float]] = {}
    cpu: dict[int, list[float]] = {}
    load = os.getloadavg()[0]
    for k in KS:
        times[k], cpu[k], found[k] = [], [], []
        for row in range(len(queries)):
            t0, c0 = time.perf_counter(), time.process_time()
            hits = index.search(queries[row : row + 1], k)
            times[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
            found[k].extend(hit_ids(hits))
    anon2, file2 = resident()
    width = max(KS)
    padded = np.full((len(KS), len(queries), width), -1, dtype=np.int64)
    for slot, k in enumerate(KS):
        for row, ids in enumerate(found[k]):
            padded[slot, row, : len(ids)] = ids
    np.save(spec["ids"], padded)
    update = small_update(index, spec["size"]) if spec.get("update", True) else None
    return {
        "ready_epoch": ready,
        "answered_epoch": answered,
        "open_s": opened - start,
        "cold_s": first - start,
        "anon_after_first": anon1 - anon0,
        "file_after_first": file1 - file0,
        "anon_after_all": anon2 - anon0,
        "file_after_all": file2 - file0,
        "times": {str(k): v for k, v in times.items()},
        "cpu": {str(k): v for k, v in cpu.items()},
        "load_before": load,
        "load_after": os.getloadavg()[0],
        "memory_bytes_open": call_or_none(index, "memory_bytes"),
        "disk_bytes_open": call_or_none(index, "disk_bytes") or directory_bytes(directory),
        "count_open": len(index),
        "update": update,
        "describe": call_or_none(index, "describe"),
    } | closed(index)


def small_update(index: Any, size: int) -> dict[str, float]:
    """Add and remove ``UPDATE_ROWS`` faces, then save; return each step's seconds."""
    rng = np.random.default_rng([size, 7])
    new_ids = np.arange(size + 1, size + 1 + UPDATE_ROWS, dtype=np.int64)
    gone = np.sort(rng.choice(size, UPDATE_ROWS, replace=False)).astype(np.int64) + 1
    t0 = time.perf_counter()
    index.add(new_ids, unit_rows(rng, UPDATE_ROWS))
    t1 = time.perf_counter()
    removed = index.remove(gone)
    t2 = time.perf_counter()
    call_or_none(index, "save" if hasattr(index, "save") else "flush")
    t3 = time.perf_counter()
    return {"add_s": t1 - t0, "remove_s": t2 - t1, "save_s": t3 - t2, "removed": float(removed)}


def service_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Open the service on a prepared data directory (without its index files if
    ``spec['drop_index']``) and time its first searches."""
    import warnings

    from faceledger import FaceLedger, load_settings
    from faceledger.biometrics.image import read_image_file
    from faceledger.governance.accounts import LocalOperator
    from faceledger.governance.policy import UnsafeProfileWarning

    warnings.filterwarnings("ignore", category=UnsafeProfileWarning)
    data_dir, probe = Path(spec["data_dir"]), Path(spec["probe"])
    if spec["drop_index"]:
        shutil.rmtree(data_dir / "index", ignore_errors=True)
    operator = LocalOperator("bench")
    anon0, file0 = resident()
    start = time.perf_counter()
    overrides = {"data_dir": data_dir, "policy_profile": "lab"}
    if spec["index_backend"]:
        overrides["index_backend"] = spec["index_backend"]
    settings = load_settings(overrides, environ={})
    service = FaceLedger(settings)
    opened = time.perf_counter()
    image = read_image_file(probe, settings.max_image_pixels, settings.max_image_bytes)
    service.context.pipeline.analyse(image)  # loads the models: not the index's cost
    warmed = time.perf_counter()
    anon1, file1 = resident()
    service.searches.search(operator, probe, ["people"])
    first = time.perf_counter()
    anon2, file2 = resident()
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        service.searches.search(operator, probe, ["people"])
        warm.append(time.perf_counter() - t0)
    service.close()
    return {
        "open_s": opened - start,
        "models_s": warmed - opened,
        "first_search_s": first - warmed,
        "warm_search_s": sorted(warm)[1],
        "anon_first_search": anon2 - anon1,
        "file_first_search": file2 - file1,
        "anon_total": anon2 - anon0,
        "file_total": file2 - file0,
        "index_bytes": directory_bytes(data_dir / "index"),
    }


def run_worker(role: str, spec: dict[str, Any], threads: int, timeout: float) -> dict[str, Any]:
    """Run a worker role in a fresh interpreter; return its result (or a status on failure)."""
    out = Path(spec["out"])
    out.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT / "src"))
    available_before = mem_available()
    spawned = time.time()
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", role, json.dumps(spec)]
    try:
        done = subprocess.run(command, env=env, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return {"status": f"stopped: over the {timeout:.0f} s timeout"}
    if out.exists():
        result: dict[str, Any] = json.loads(out.read_text())
        result.setdefault("status", "ok")
        result["spawned_epoch"] = spawned
        result["mem_available_before"] = available_before
        return result
    tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
    return {"status": f"failed (exit {done.returncode}): {tail[-400:]}"}


def worker_main(role: str, spec_json: str) -> None:
    """Entry point of a worker subprocess."""
    spec = json.loads(spec_json)
    out = Path(spec["out"])
    watchdog = Watchdog(int(spec["memory_limit"]), out)
    roles: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "build": build_worker,
        "query": query_worker,
        "service": service_worker,
    }
    result = roles[role](spec)
    result["peak_anon"], result["peak_total"] = watchdog.peak_anon, watchdog.peak_total
    out.write_text(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown of large indexes (and any server threads)


# --- one size, one backend ---------------------------------------------------------------------


def recall(found: NDArray[np.int64], exact: NDArray[np.int64], k: int) -> float:
    """Return mean |found top-k ∩ exact top-k| / k over the rows."""
    if len(found) == 0:
        return math.nan
    hits = [
        len(set(f[:k].tolist()) & set(e[:k].tolist())) for f, e in zip(found, exact, strict=True)
    ]
    return float(np.mean(hits)) / k


def parse_variant(text: str) -> tuple[str, dict[str, int]]:
    """Split ``ivf:nprobe=2000:rerank=256`` into the backend and the ``tune()`` arguments."""
    name, *pairs = text.split(":")
    tune = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        tune[key] = int(value)
    return name, tune


def measure(
    variants: list[str], size: int, paths: dict[str, Path], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Build one backend at one size, then open it cold and search it once per variant (the
    backend with its defaults, or retuned); return a row per variant."""
    backend = parse_variant(variants[0])[0]
    why = available(backend)
    if why:
        return [{"backend": v, "size": size, "status": why} for v in variants]
    directory = paths["work"] / f"index-{backend}-{size}"
    shutil.rmtree(directory, ignore_errors=True)
    limit = int(args.memory_limit_gb * 1e9)
    base = {"backend": backend, "size": size, "directory": str(directory), "memory_limit": limit}
    print(f"[{time.strftime('%H:%M:%S')}] {backend} {size:,}: building", flush=True)
    spec = {"gallery": str(paths["gallery"]), "threads": args.build_threads}
    built = run_worker(
        "build",
        base | spec | {"out": str(paths["work"] / "build.json")},
        args.build_threads,
        args.timeout,
    )
    if built["status"] != "ok":
        status = "build " + built["status"]
        return [{"backend": v, "size": size, "status": status, "build": built} for v in variants]
    print(
        f"[{time.strftime('%H:%M:%S')}] {backend} {size:,}: built in "
        f"{built['build_s']:.1f} s; searching",
        flush=True,
    )
    rows = []
    for number, variant in enumerate(variants):
        row = search_variant(variant, base, paths, args, last=number == len(variants) - 1)
        rows.append(row | {"build": built})
    if not args.keep_indexes:
        shutil.rmtree(directory, ignore_errors=True)
    return rows


def search_variant(
    variant: str,
    base: dict[str, Any],
    paths: dict[str, Path],
    args: argparse.Namespace,
    last: bool,
) -> dict[str, Any]:
    """Open the built index cold in a fresh process, retuned as ``variant`` says, and search
    every query; the last variant also times the small update. Return its row."""
    row: dict[str, Any] = {"backend": variant, "size": base["size"]}
    ids_path = paths["work"] / "found.npy"
    spec = {
        "queries": str(paths["queries"]),
        "ids": str(ids_path),
        "out": str(paths["work"] / "query.json"),
        "tune": parse_variant(variant)[1],
        "update": last,
    }
    queried = run_worker("query", base | spec, 1, args.timeout)
    row["query"] = queried
    if queried["status"] != "ok":
        return row | {"status": "search " + queried["status"]}
    found = np.load(ids_path)
    exact, mates = np.load(paths["exact"]), np.load(paths["mates"])
    mated = mates >= 0
    k10 = found[0]
    row |= {
        "status": "ok",
        "recall1_mated": recall(k10[mated], exact[mated], 1),
        "recall1_nonmated": recall(k10[~mated], exact[~mated], 1),
        "recall10": recall(k10, exact, 10),
        "recall10_mated": recall(k10[mated], exact[mated], 10),
        "recall10_k40": recall(found[1], exact, 10),
        "mate_at_1": float(np.mean(k10[mated, 0] == mates[mated])),
        "fresh_process_s": queried["answered_epoch"] - queried["spawned_epoch"],
    }
    for k in KS:
        row[f"p50_k{k}"] = percentile(queried["times"][str(k)], 50)
        row[f"p99_k{k}"] = percentile(queried["times"][str(k)], 99)
        row[f"cpu_p50_k{k}"] = percentile(queried["cpu"][str(k)], 50)
        row[f"cpu_p99_k{k}"] = percentile(queried["cpu"][str(k)], 99)
    del queried["times"], queried["cpu"]
    return row


def prepare(size: int, args: argparse.Namespace, data: Path) -> dict[str, Path]:
    """Write (or reuse) the gallery, queries, mates and exact top-40 of one size."""
    work = data / f"size-{size}"
    work.mkdir(parents=True, exist_ok=True)
    paths = {
        "work": work,
        "gallery": gallery_file(data, max(args.sizes), args.seed),
        "queries": work / f"queries-{args.queries}.npy",
        "mates": work / f"mates-{args.queries}.npy",
        "exact": work / f"exact-{args.queries}.npy",
    }
    vectors = gallery(paths["gallery"], size)
    if not paths["exact"].exists():
        queries, mates = probes(vectors, args.queries, args.seed)
        np.save(paths["queries"], queries)
        np.save(paths["mates"], mates)
        start = time.perf_counter()
        np.save(paths["exact"], exact_top(vectors, queries, max(KS), args.build_threads))
        print(
            f"  exact top-{max(KS)} of {args.queries} queries over {size:,} faces: "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )
    return paths


def genuine_quantiles(paths: dict[str, Path]) -> list[float]:
    """Return the 10/25/50/75/90th percentiles of mated probes' distance to their mate."""
    queries, mates = np.load(paths["queries"]), np.load(paths["mates"])
    vectors = gallery(paths["gallery"], int(mates.max()))
    mated = mates >= 0
    distances = np.linalg.norm(queries[mated] - vectors[mates[mated] - 1], axis=1)
    return [float(q) for q in np.percentile(distances, QUANTILES)]


# --- how isotropic real templates are ----------------------------------------------------------


def real_template_stats(data: Path) -> dict[str, float]:
    """Embed lfw-dev with the default pipeline (centre face; cached in ``data``) and return how
    far its templates are from the synthetic model: the norm of their mean, the participation
    ratio of their covariance (the effective dimension: 128 for isotropic vectors), and the
    impostor distances' percentiles."""
    cache = data / "lfw-dev-sface.npz"
    if not cache.exists():
        from faceledger import load_settings
        from faceledger.biometrics.pipeline import FacePipeline
        from faceledger.reports.evaluation import load_folder
        from faceledger.reports.evaluation.embedding import embed_photos

        dataset = load_folder(ROOT.parent / "shared" / "data" / "lfw-dev", None, None)
        overrides = {"data_dir": data / "lfw-settings", "model_threads": 1}
        settings = load_settings(overrides, environ={})
        pipeline = FacePipeline.from_settings(settings)
        paths = [p.path for p in dataset.photos]
        embedded = embed_photos(paths, settings, pipeline, "centre", workers=1)
        identities = np.array([p.identity for p in dataset.photos])
        np.savez(cache, vectors=embedded.vectors, ok=embedded.ok, identity=identities)
    saved = np.load(cache)
    vectors, identity = saved["vectors"][saved["ok"]], saved["identity"][saved["ok"]]
    eigen = np.linalg.eigvalsh(np.cov(vectors.T))
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(vectors), (2, 200_000))
    other = identity[i] != identity[j]
    cosines = np.einsum("ij,ij->i", vectors[i[other]], vectors[j[other]])
    impostor = np.sqrt(np.clip(2 - 2 * cosines, 0, 4))
    return {
        "templates": float(len(vectors)),
        "mean_norm": float(np.linalg.norm(vectors.mean(axis=0))),
        "participation_ratio": float(eigen.sum() ** 2 / (eigen**2).sum()),
        "impostor_p1": float(np.percentile(impostor, 1)),
        "impostor_p50": float(np.percentile(impostor, 50)),
    }


# --- the service path --------------------------------------------------------------------------


def service_path(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    """Prepare (or reuse) a data directory with ``--service-extra`` random templates, then time
    fresh processes opening the service and searching: without index files, then with them."""
    from benchmarks.bench_search import OPERATOR, add_random_templates
    from benchmarks.common import require_faces

    faces = require_faces()
    data_dir = Path(args.service_dir) if args.service_dir else data / "service"
    marker = data_dir / "bench-ready.json"
    if not marker.exists() or json.loads(marker.read_text())["extra"] != args.service_extra:
        import warnings

        from faceledger import FaceLedger, load_settings
        from faceledger.gallery.sources import from_folder_tree
        from faceledger.governance.policy import UnsafeProfileWarning

        warnings.filterwarnings("ignore", category=UnsafeProfileWarning)
        shutil.rmtree(data_dir, ignore_errors=True)
        settings = load_settings({"data_dir": data_dir, "policy_profile": "lab"}, environ={})
        start = time.perf_counter()
        service = FaceLedger.initialise(settings, OPERATOR.ledger_actor)
        service.galleries.enroll(OPERATOR, "people", from_folder_tree(faces / "people"))
        add_random_templates(service, "people", args.service_extra)
        service.close()
        marker.write_text(json.dumps({"extra": args.service_extra}))
        print(
            f"  service data dir with {args.service_extra:,} random templates: "
            f"{time.perf_counter() - start:.0f} s",
            flush=True,
        )
    result: dict[str, Any] = {"extra": args.service_extra, "data_dir": str(data_dir), "runs": {}}
    for backend in args.service_backends.split(","):
        for mode, drop in (("no index files", True), ("index files", False)):
            spec = {
                "data_dir": str(data_dir),
                "probe": str(faces / "groups" / "kit_with_rose.jpg"),
                "drop_index": drop,
                "index_backend": backend,
                "memory_limit": int(args.memory_limit_gb * 1e9),
                "out": str(data / "service.json"),
            }
            name = f"{backend or 'default'}, {mode}"
            result["runs"][name] = run_worker("service", spec, 1, args.timeout)
            print(f"  service, {name}: {result['runs'][name]}", flush=True)
    return result


# --- report ------------------------------------------------------------------------------------


def per_face(value: float | None, size: int) -> str:
    """Format bytes per face."""
    return "-" if value is None else f"{value / size:,.0f}"


def ms(value: float | None) -> str:
    """Format seconds as milliseconds."""
    return "-" if value is None or math.isnan(value) else f"{value * 1000:.2f}"


def print_tables(rows: list[dict[str, Any]]) -> None:
    """Print the cost table and the search table."""
    # The baseline is the project's exact index, or the harness's raw one where it did not run.
    exact = [r for r in rows if r["backend"] in ("raw-flat", "flat") and r.get("status") == "ok"]
    exact.sort(key=lambda r: r["backend"] == "flat")
    flat_p50 = {r["size"]: r["p50_k10"] for r in exact}
    w = max([9] + [len(r["backend"]) + 1 for r in rows])
    flat_p50_40 = {r["size"]: r["p50_k40"] for r in exact}
    print(
        "\ncost (bytes per face; mem = RSS growth of a fresh process that opened the index, "
        "after the first search / after all searches, and its anonymous part; cold = open + "
        "first search in that process, fresh = from spawning it; peak = the build's peak "
        "anonymous RSS; update = add 1,000 / remove 1,000 / save)"
    )
    print(
        f"{'backend':{w}}{'faces':>12}{'build s':>9}{'cpu s':>8}{'peak GB':>8}{'mem first':>10}"
        f"{'mem all':>9}{'(anon)':>8}{'mem_bytes':>10}{'disk':>7}{'cold s':>8}{'fresh s':>9}"
        f"{'update s':>18}"
    )
    for r in rows:
        b, q = r.get("build", {}), r.get("query", {})
        if r.get("status") != "ok":
            print(f"{r['backend']:{w}}{r['size']:>12,}  {r['status']}")
            continue
        size, u = r["size"], q["update"]
        mem_first = q["anon_after_first"] + q["file_after_first"]
        mem_all = q["anon_after_all"] + q["file_after_all"]
        cpu = b.get("build_cpu_s")
        update = "-" if u is None else f"{u['add_s']:.2f}/{u['remove_s']:.2f}/{u['save_s']:.2f}"
        print(
            f"{r['backend']:{w}}{size:>12,}{b['build_s']:>9.1f}"
            f"{'-' if cpu is None else f'{cpu:.1f}':>8}{b['peak_anon'] / 1e9:>8.2f}"
            f"{per_face(mem_first, size):>10}{per_face(mem_all, size):>9}"
            f"{per_face(q['anon_after_all'], size):>8}{per_face(q['memory_bytes_open'], size):>10}"
            f"{per_face(q['disk_bytes_open'], size):>7}{q['cold_s']:>8.2f}"
            f"{r['fresh_process_s']:>9.2f}{update:>18}"
        )
    print(
        "\nsearch (one thread, one query at a time; ms, wall clock and this process's CPU; "
        "x flat = p50 / exact p50 at that size; recall against the exact top-k)"
    )
    print(
        f"{'':{w + 12}}{'---------------- k=10 ---------------':>38}"
        f"{'---------------- k=40 ---------------':>38}"
    )
    print(
        f"{'backend':{w}}{'faces':>12}"
        + f"{'p50':>9}{'p99':>9}{'cpu p50':>9}{'x flat':>11}" * 2
        + f"{'R@1 mat':>9}{'R@1 non':>9}{'R@10':>7}{'R@10/40':>9}{'mate@1':>8}{'load':>6}"
    )
    for r in rows:
        if r.get("status") != "ok":
            continue
        size = r["size"]
        ratio = r["p50_k10"] / flat_p50[size] if size in flat_p50 else math.nan
        ratio40 = r["p50_k40"] / flat_p50_40[size] if size in flat_p50_40 else math.nan
        print(
            f"{r['backend']:{w}}{size:>12,}"
            f"{ms(r['p50_k10']):>9}{ms(r['p99_k10']):>9}{ms(r['cpu_p50_k10']):>9}{ratio:>11.4f}"
            f"{ms(r['p50_k40']):>9}{ms(r['p99_k40']):>9}{ms(r['cpu_p50_k40']):>9}{ratio40:>11.4f}"
            f"{r['recall1_mated']:>9.4f}{r['recall1_nonmated']:>9.4f}{r['recall10']:>7.4f}"
            f"{r['recall10_k40']:>9.4f}{r['mate_at_1']:>8.4f}{r['query']['load_before']:>6.1f}"
        )
        r["ratio_p50_flat"], r["ratio_p50_flat_k40"] = ratio, ratio40
    print("\nparameters (describe() of the opened index)")
    for r in rows:
        if r.get("status") == "ok":
            described = r["query"].get("describe") or {}
            params = described.get("parameters", described) if isinstance(described, dict) else {}
            shown = {k: v for k, v in params.items() if k not in ("uri", "collection")}
            print(f"  {r['backend']:28} {r['size']:>12,}  {json.dumps(shown)}")
    print_targets(rows)


def print_targets(rows: list[dict[str, Any]]) -> None:
    """Print each backend's standing against the issue's targets, extrapolating to 10M from
    the sizes measured when 10M was not."""
    print(
        "\ntargets (issue 12): p50 < 5 ms at 10M with recall@1 >= 0.995, <= 600 B/face in "
        "memory, cold start < 10 s"
    )
    for backend in dict.fromkeys(r["backend"] for r in rows):
        ok = sorted(
            (r for r in rows if r["backend"] == backend and r.get("status") == "ok"),
            key=lambda r: r["size"],
        )
        if not ok:
            continue
        last = ok[-1]
        q = last["query"]
        mem = (q["anon_after_all"] + q["file_after_all"]) / last["size"]
        note = (
            f"  {backend:9} at {last['size']:,}: p50 {ms(last['p50_k10'])} ms, "
            f"recall@1 mated {last['recall1_mated']:.4f} non-mated "
            f"{last['recall1_nonmated']:.4f}, {mem:,.0f} B/face, cold {q['cold_s']:.2f} s"
        )
        if last["size"] < 10_000_000 and len(ok) >= 2:
            sizes = np.array([r["size"] for r in ok], dtype=np.float64)
            p50 = np.array([r["p50_k10"] for r in ok])
            lin = np.polyfit(sizes, p50, 1)
            log = np.polyfit(np.log(sizes), p50, 1)
            cold = np.polyfit(sizes, [r["query"]["cold_s"] for r in ok], 1)
            note += (
                f"; extrapolated to 10M: p50 {np.polyval(lin, 1e7) * 1000:.2f} ms "
                f"(linear in N) / {np.polyval(log, math.log(1e7)) * 1000:.2f} ms (in log N), "
                f"cold {np.polyval(cold, 1e7):.1f} s (linear)"
            )
        print(note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000000,2000000,5000000,10000000", help="gallery sizes, comma-separated"
    )
    parser.add_argument(
        "--backends",
        default="flat,hnsw,ivf,milvus",
        help=f"comma-separated, of {', '.join(BACKENDS)}; a variant retunes the backend built "
        "before it, e.g. ivf:nprobe=2000:rerank=256 or hnsw:ef_search=512 (tune() arguments)",
    )
    parser.add_argument("--queries", type=int, default=1000, help="probes, half of them mated")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--data", help="keep generated faces here (default: a temp dir)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--build-threads", type=int, default=1, help="threads to build with")
    parser.add_argument("--memory-limit-gb", type=float, default=14.0)
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per worker")
    parser.add_argument(
        "--resume", action="store_true", help="keep the rows measured ok in --json, run the rest"
    )
    parser.add_argument("--keep-indexes", action="store_true", help="keep built index files")
    parser.add_argument("--service", action="store_true", help="also time the service path")
    parser.add_argument("--service-only", action="store_true", help="only the service path")
    parser.add_argument("--service-extra", type=int, default=1_000_000)
    parser.add_argument("--service-dir", help="data directory for the service path (kept)")
    parser.add_argument(
        "--service-backends",
        default="",
        help="index_backend settings to open the service with, comma-separated ('': default)",
    )
    parser.add_argument(
        "--real-stats",
        action="store_true",
        help="also embed lfw-dev and compare its templates with the synthetic ones",
    )
    parser.add_argument(
        "--report", nargs="+", metavar="JSON", help="print the tables of earlier --json files"
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(*args.worker)
        return
    if args.report:
        reports = [json.loads(Path(p).read_text()) for p in args.report]
        rows = [row for r in reports for row in r["rows"]]
        if rows:
            print_tables(rows)
        for r in reports:
            if "service" in r:
                print_service(r["service"])
        return
    args.sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    backends = args.backends.split(",")
    unknown = {parse_variant(b)[0] for b in backends} - set(BACKENDS)
    if unknown or args.queries < 2:
        parser.error(f"unknown backend(s) {sorted(unknown)}" if unknown else "--queries >= 2")
    tmp = None if args.data else tempfile.TemporaryDirectory(prefix="bench_index_")
    data = Path(args.data) if args.data else Path(tmp.name)  # type: ignore[union-attr]
    data.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"argv": sys.argv[1:], "rows": [], "cpus": os.cpu_count()}
    report["code"] = {
        name: hashlib.sha256((ROOT / "src/faceledger/gallery" / name).read_bytes()).hexdigest()
        for name in ("faiss_indexes.py", "milvus_index.py", "vector_files.py", "index_store.py")
        if (ROOT / "src/faceledger/gallery" / name).exists()
    }
    if args.resume and args.json and Path(args.json).exists():
        report["rows"] = json.loads(Path(args.json).read_text())["rows"]
    print(
        f"faceledger vector index benchmark: sizes {args.sizes}, backends {backends}, "
        f"{args.queries} queries (half mated), build threads {args.build_threads}, "
        f"python {sys.version.split()[0]}, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    try:
        if args.real_stats:
            report["real_stats"] = stats = real_template_stats(data)
            synthetic = unit_rows(np.random.default_rng(0), 200_000)
            cosines = np.einsum("ij,ij->i", synthetic[:100_000], synthetic[100_000:])
            impostor = np.sqrt(2 - 2 * cosines)
            print(
                f"real sface templates on lfw-dev ({stats['templates']:.0f}): mean norm "
                f"{stats['mean_norm']:.3f}, effective dimension (participation ratio) "
                f"{stats['participation_ratio']:.1f} of {DIMENSION}, impostor distance p1/p50 "
                f"{stats['impostor_p1']:.3f}/{stats['impostor_p50']:.3f}; synthetic: mean norm "
                f"0, effective dimension {DIMENSION}, impostor p1/p50 "
                f"{np.percentile(impostor, 1):.3f}/{np.percentile(impostor, 50):.3f}",
                flush=True,
            )
        if args.service or args.service_only:
            report["service"] = service_path(args, data)
        for size in [] if args.service_only else args.sizes:
            start = time.perf_counter()
            paths = prepare(size, args, data)
            quantiles = genuine_quantiles(paths)
            report.setdefault("genuine_quantiles", {})[str(size)] = quantiles
            print(
                f"{size:,} faces ready in {time.perf_counter() - start:.1f} s; mated distance "
                f"p10-p90 {' '.join(f'{x:.3f}' for x in quantiles)} (real sface on lfw-dev: "
                f"{' '.join(f'{x:.3f}' for x in REAL_GENUINE)})",
                flush=True,
            )
            for group in dict.fromkeys(parse_variant(b)[0] for b in backends):
                variants = [b for b in backends if parse_variant(b)[0] == group]
                kept = {
                    r["backend"]
                    for r in report["rows"]
                    if r["size"] == size and r["backend"] in variants and r["status"] == "ok"
                }
                if kept == set(variants):
                    print(f"  {group} {size:,}: kept from {args.json} (--resume)", flush=True)
                    continue
                report["rows"] = [
                    r
                    for r in report["rows"]
                    if (r["size"], r["backend"]) not in {(size, v) for v in variants}
                ]
                for row in measure(variants, size, paths, args):
                    report["rows"].append(row)
                    brief = {k: v for k, v in row.items() if k not in ("build", "query")}
                    print(f"  -> {json.dumps(brief)}", flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(report, indent=1))
        if report["rows"]:
            print_tables(report["rows"])
        if "service" in report:
            print_service(report["service"])
    finally:
        report["load_end"] = os.getloadavg()
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1))
        if tmp is not None:
            tmp.cleanup()


def print_service(result: dict[str, Any]) -> None:
    """Print the service path's cold starts."""
    print(
        f"\nservice path: 54 photos + {result['extra']:,} random templates, fresh process, "
        "lab profile, kit_with_rose.jpg (2 faces)"
    )
    for name, r in result["runs"].items():
        if r.get("status") != "ok":
            print(f"  {name}: {r.get('status')}")
            continue
        print(
            f"  {name:23} open {r['open_s']:.2f} s, models+first analysis "
            f"{r['models_s']:.2f} s, first search {r['first_search_s']:.2f} s, warm search "
            f"{r['warm_search_s']:.2f} s -> index cold start "
            f"{r['first_search_s'] - r['warm_search_s']:.2f} s; "
            f"RSS +{(r['anon_first_search'] + r['file_first_search']) / 1e9:.2f} GB in the first "
            f"search, +{(r['anon_total'] + r['file_total']) / 1e9:.2f} GB in all "
            f"(peak anon {r['peak_anon'] / 1e9:.2f} GB)"
        )


if __name__ == "__main__":
    main()
