"""Where photo jobs run: in this process, on a local process pool, or on a Dask cluster.

A photo job is a module-level function ``job(path, pipeline, settings)`` (or a partial of one)
whose result is plain data, so the same job runs unchanged wherever it is sent. Two entry points:

- :func:`map_photos` yields results in input order, on a pool of local worker processes when
  there are enough photos (the evaluation embeds its photos this way);
- :func:`photo_runner` yields results as they complete, on a Dask scheduler when one is named,
  else on a ``distributed.LocalCluster`` for large jobs and in this process for small ones
  (bulk enrolment). Only the caller, the coordinator, ever touches the database: workers
  analyse and send back data.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from faceledger.errors import ConfigError

# Below this many photos the cost of starting worker processes outweighs the gain.
MIN_PHOTOS_FOR_POOL = 8

# Without a scheduler address, a job of at least this many photos starts a LocalCluster.
# On two free cores (sface, ~0.15 s a photo in one process) starting the cluster and loading the
# models on its workers cost about 3.5 s, which two workers win back from ~48 photos on. On a
# busy machine they win nothing (benchmarks/bench_enroll.py); the jobs this is for are large.
LOCAL_CLUSTER_FROM = 48

# How long to wait for a named scheduler to answer, and for it to have a worker.
CONNECT_TIMEOUT_S = 5

# Futures in flight per worker thread: enough to keep every worker busy while results travel
# back, few enough that a million photos never become a million futures at once.
IN_FLIGHT_PER_THREAD = 4

_R = TypeVar("_R")

PhotoJob = Callable[[Path, FacePipeline, Settings], _R]
"""Work on one photo with the caller's pipeline: a module-level function (or a partial of
one), so it can be sent to a worker process or a Dask worker."""


def _distributed() -> Any:
    """The ``distributed`` package, imported on first use (it is heavy, and only large jobs
    need it). Typed as Any: the package's own functions carry no annotations."""
    import distributed

    return distributed


DaskClient = Any  # a distributed.Client (untyped)


def worker_count(settings: Settings, jobs: int) -> int:
    """Return how many processes to use for ``jobs`` photos."""
    wanted = settings.enroll_workers or os.cpu_count() or 1
    return max(1, min(wanted, jobs))


_worker: tuple[PhotoJob[Any], FacePipeline, Settings] | None = None


def _init_worker(job: PhotoJob[Any], pipeline: FacePipeline, settings: Settings) -> None:
    global _worker
    _worker = (job, pipeline, settings)  # the caller's own pipeline: its models load lazily here


def _in_worker(path: Path) -> Any:
    assert _worker is not None
    job, pipeline, settings = _worker
    return job(path, pipeline, settings)


def map_photos(
    job: PhotoJob[_R],
    paths: Sequence[Path],
    settings: Settings,
    pipeline: FacePipeline,
    workers: int | None = None,
) -> Iterator[_R]:
    """Yield ``job(path, pipeline, settings)`` for each path, in input order, on a pool of
    worker processes (each holding ``pipeline``) when there are enough photos to pay for one.
    ``workers`` defaults to :func:`worker_count`."""
    count = workers if workers is not None else worker_count(settings, len(paths))
    if count <= 1 or len(paths) < MIN_PHOTOS_FOR_POOL:
        for path in paths:
            yield job(path, pipeline, settings)
        return
    # 'spawn' because FAISS and OpenMP threads in this process make fork unsafe.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=count,
        mp_context=context,
        initializer=_init_worker,
        initargs=(job, pipeline, settings),
    ) as pool:
        yield from pool.map(_in_worker, paths, chunksize=4)


class PhotoRunner:
    """Runs the photo jobs of one use case where :func:`photo_runner` decided; results come
    back as they complete, not in input order."""

    def __init__(self, settings: Settings, client: DaskClient | None, stack: ExitStack) -> None:
        self._settings = settings
        self._client = client
        self._stack = stack
        # Where the jobs ran, for summaries: set by run() unless a scheduler was named.
        self.where = _describe(client, "Dask scheduler") if client else "nowhere (no job)"

    def run(self, job: PhotoJob[_R], paths: Sequence[Path], pipeline: FacePipeline) -> Iterator[_R]:
        """Yield ``job(path, pipeline, settings)`` for every path, in completion order.

        On a named scheduler every job goes to its workers. Without one, a job list of at
        least :data:`LOCAL_CLUSTER_FROM` photos starts a LocalCluster of
        :func:`worker_count` processes (one thread each) for the runner's lifetime; smaller
        lists, or a single worker, run here one by one.
        """
        client = self._client
        if client is None and paths:
            workers = worker_count(self._settings, len(paths))
            if workers > 1 and len(paths) >= LOCAL_CLUSTER_FROM:
                client = self._client = self._stack.enter_context(_local_client(workers))
                self.where = _describe(client, "Dask LocalCluster")
        if client is None:
            if paths:
                self.where = "this process"
            for path in paths:
                yield job(path, pipeline, self._settings)
            return
        yield from _run_on_dask(client, job, paths, pipeline, self._settings)


@contextmanager
def photo_runner(settings: Settings, scheduler: str = "") -> Iterator[PhotoRunner]:
    """Open where photo jobs will run: the Dask scheduler at ``scheduler`` if one is named
    (connected at once, so that a wrong address fails before any work), otherwise decided per
    :meth:`PhotoRunner.run`. Everything started is closed on exit.

    Raises:
        ConfigError: if the scheduler does not answer within :data:`CONNECT_TIMEOUT_S`
            seconds, or has no worker by then; the message names the address.
    """
    with ExitStack() as stack:
        client = stack.enter_context(_connect(scheduler)) if scheduler else None
        yield PhotoRunner(settings, client, stack)


@contextmanager
def _connect(address: str) -> Iterator[DaskClient]:
    try:
        client = _distributed().Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:  # refused, timed out, malformed: all mean a wrong address
        raise ConfigError(
            f"Cannot reach the Dask scheduler at {address!r} within {CONNECT_TIMEOUT_S} s "
            f"({exc}). Check `--cluster` or the dask_scheduler setting.",
            setting="dask_scheduler",
            value=address,
        ) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise ConfigError(
                f"The Dask scheduler at {address!r} has no worker after {CONNECT_TIMEOUT_S} s.",
                setting="dask_scheduler",
                value=address,
            ) from None
        yield client


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """Start the ``distributed.LocalCluster`` a large enrolment runs on: ``workers`` processes
    of one thread on 127.0.0.1, quiet; yield it (``.scheduler_address``), close it on exit."""
    import dask.config

    distributed = _distributed()  # first: its import loads the defaults the override edits
    # Processes, one thread each: the face models are not thread-parallel, and a process per
    # core sidesteps the GIL. The scheduler's HTTP server (a dashboard only if bokeh is there)
    # on a free port of 127.0.0.1: None would mean 8787, and a warning when that is taken.
    # Only errors are logged, under the progress bar. Dask's nannies start workers with
    # MALLOC_TRIM_THRESHOLD_=65536, which hands every freed image buffer back to the OS: the
    # models then took 60% more CPU a photo here (4.9 s -> 7.8 s for the 54 shared photos), so
    # the workers keep glibc's default (None unsets it; the thread limits stay).
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
    with cluster:
        yield cluster


@contextmanager
def _local_client(workers: int) -> Iterator[DaskClient]:
    with (
        local_cluster(workers) as cluster,
        _distributed().Client(cluster, set_as_default=False) as client,
    ):
        yield client


def _describe(client: DaskClient, kind: str) -> str:
    workers = len(client.nthreads())
    return f"{kind} {client.scheduler.address} ({workers} worker{'s' if workers != 1 else ''})"


def _on_worker(shared: tuple[PhotoJob[_R], FacePipeline, Settings], path: Path) -> _R:
    job, pipeline, settings = shared  # one copy per worker: its models load there, once
    return job(path, pipeline, settings)


def _run_on_dask(
    client: DaskClient,
    job: PhotoJob[_R],
    paths: Sequence[Path],
    pipeline: FacePipeline,
    settings: Settings,
) -> Iterator[_R]:
    [shared] = client.scatter([(job, pipeline, settings)], broadcast=True, hash=False)
    window = IN_FLIGHT_PER_THREAD * max(1, sum(client.nthreads().values()))
    remaining = iter(paths)

    def submit(path: Path) -> Any:
        # pure=False: a fresh key per photo, so two enrolments on one cluster never share one.
        return client.submit(_on_worker, shared, path, pure=False)

    first = [submit(p) for p in islice(remaining, window)]
    queue = _distributed().as_completed(first, loop=client.loop)
    try:
        for future in queue:
            result: _R = future.result()
            following = next(remaining, None)
            if following is not None:
                queue.add(submit(following))
            future.release()
            yield result
    finally:
        queue.clear()  # a caller that stops early leaves nothing running on the cluster
        shared.release()
