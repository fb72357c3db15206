"""What the pipeline finds in many photo files, and which files it need not look at.

Work crosses process boundaries as plain data (:class:`PhotoAnalysis`), so it runs unchanged in
this process, on a process pool or on a Dask cluster (:mod:`faceledger.gallery.executors`).
Before any analysis a file is known by its SHA-256 (:func:`hash_photos`): the same digest of
the same bytes that :func:`~faceledger.biometrics.image.read_image_file` records, so a photo
already enrolled is skipped without being decoded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from faceledger.biometrics.image import read_image_file
from faceledger.biometrics.pipeline import Face, FacePipeline
from faceledger.config import Settings
from faceledger.errors import FaceLedgerError

# map_photos moved to executors.py with every other choice of where jobs run; kept importable
# from here for the evaluation's embedding.
from faceledger.gallery.executors import PhotoRunner, map_photos

__all__ = [
    "HASH_CHUNK",
    "PhotoAnalysis",
    "analyse_photo",
    "analyse_photos",
    "hash_photos",
    "map_photos",
    "photo_sha256",
]

# Files hashed (and then looked up) together: one database query per chunk.
HASH_CHUNK = 500
# Reading and hashing wait on the disk and release the GIL: a few threads keep it busy.
_HASH_THREADS = 4
_READ_BLOCK = 1 << 20


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


def analyse_photos(
    paths: Sequence[Path],
    settings: Settings,
    pipeline: FacePipeline,
    on_done: Callable[[PhotoAnalysis], None] | None = None,
    runner: PhotoRunner | None = None,
) -> Iterator[PhotoAnalysis]:
    """Yield one analysis per path: on ``runner`` in completion order (each result names its
    path), or without one in input order on a process pool for large batches."""
    results = (
        runner.run(analyse_photo, paths, pipeline)
        if runner is not None
        else map_photos(analyse_photo, paths, settings, pipeline)
    )
    for result in results:
        if on_done:
            on_done(result)
        yield result


def photo_sha256(path: Path, max_bytes: int | None = None) -> str | None:
    """Return the SHA-256 (hex) of the file's bytes, or None if it cannot be read or is over
    ``max_bytes``; the analysis then reports why, in its own words."""
    try:
        with path.open("rb") as file:
            if max_bytes is not None and os.fstat(file.fileno()).st_size > max_bytes:
                return None
            digest = hashlib.sha256()
            while block := file.read(_READ_BLOCK):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def hash_photos(paths: Sequence[Path], settings: Settings) -> Iterator[list[str | None]]:
    """Yield the :func:`photo_sha256` of ``paths`` in input order, a chunk of
    :data:`HASH_CHUNK` at a time."""
    with ThreadPoolExecutor(_HASH_THREADS, thread_name_prefix="hash") as pool:
        for start in range(0, len(paths), HASH_CHUNK):
            chunk = paths[start : start + HASH_CHUNK]
            yield list(pool.map(lambda p: photo_sha256(p, settings.max_image_bytes), chunk))
