"""Running the face pipeline over many photos, on every core.

Work crosses process boundaries as plain data (:class:`PhotoAnalysis`), so the pool can be a
local process pool today and a Dask cluster later without changing the callers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from faceledger.biometrics.image import read_image_file
from faceledger.biometrics.pipeline import Face, FacePipeline
from faceledger.config import Settings
from faceledger.errors import FaceLedgerError

# Below this many photos the cost of starting worker processes outweighs the gain.
MIN_PHOTOS_FOR_POOL = 8

_R = TypeVar("_R")


@dataclass(frozen=True)
class PhotoAnalysis:
    """What the pipeline found in one photo file, or why it could not look."""

    path: Path
    sha256: str | None = None
    image_format: str = ""
    width: int = 0
    height: int = 0
    faces: tuple[Face, ...] = ()
    error_code: str | None = None
    error_message: str | None = None


PhotoJob = Callable[[Path, FacePipeline, Settings], "_R"]
"""Work on one photo with the caller's pipeline: a module-level function (or a partial of
one), so it can be sent to a worker process."""

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


def analyse_photo(path: Path, pipeline: FacePipeline, settings: Settings) -> PhotoAnalysis:
    """Decode one photo and find its faces; errors become data, never exceptions."""
    try:
        image = read_image_file(path, settings.max_image_pixels, settings.max_image_bytes)
        faces = pipeline.analyse(image)
    except FaceLedgerError as exc:
        return PhotoAnalysis(path=path, error_code=exc.code, error_message=exc.message)
    return PhotoAnalysis(
        path=path,
        sha256=image.sha256,
        image_format=image.format,
        width=image.width,
        height=image.height,
        faces=tuple(faces),
    )


def worker_count(settings: Settings, jobs: int) -> int:
    """Return how many processes to use for ``jobs`` photos."""
    wanted = settings.enroll_workers or os.cpu_count() or 1
    return max(1, min(wanted, jobs))


def analyse_photos(
    paths: Sequence[Path],
    settings: Settings,
    pipeline: FacePipeline,
    on_done: Callable[[PhotoAnalysis], None] | None = None,
) -> Iterator[PhotoAnalysis]:
    """Yield one analysis per path, in input order, using a process pool for large batches."""
    for result in map_photos(analyse_photo, paths, settings, pipeline):
        if on_done:
            on_done(result)
        yield result
