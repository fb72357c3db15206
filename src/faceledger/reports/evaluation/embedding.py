"""Embedding every photo of an evaluation set once, choosing the labelled face.

A photo whose chosen face is missing or unusable is a failure to enrol/acquire (FTE): it keeps
its place (a NaN row) so the metrics can count it in their denominators, as NIST does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.image import read_image_file
from faceledger.biometrics.pipeline import FacePipeline
from faceledger.config import Settings
from faceledger.errors import FaceLedgerError, InvalidInput
from faceledger.gallery.analysis import map_photos

FaceChoice = Literal["largest", "centre"]
FACE_CHOICES: tuple[FaceChoice, ...] = ("largest", "centre")
DIMENSIONS = 128  # only used when no photo yields a face


class Box(Protocol):
    """A face box: pixel edges, right and bottom exclusive."""

    @property
    def left(self) -> int: ...
    @property
    def top(self) -> int: ...
    @property
    def right(self) -> int: ...
    @property
    def bottom(self) -> int: ...


def choose_face(boxes: Sequence[Box], width: int, height: int, choice: FaceChoice) -> int | None:
    """Return the index of the face to evaluate among ``boxes`` (largest first), or None.

    ``largest`` takes the first box. ``centre`` follows LFW's rule: the face whose box contains
    the image's centre pixel (``width // 2``, ``height // 2``; (125, 125) for LFW); if several
    do, the one whose box centre is nearest that pixel; if none does, None.

    Raises:
        InvalidInput: for an unknown ``choice``.
    """
    if choice not in FACE_CHOICES:
        raise InvalidInput(f"Unknown face choice {choice!r}; use largest or centre.")
    if not boxes:
        return None
    if choice == "largest":
        return 0
    cx, cy = width // 2, height // 2
    holding = [
        (((b.left + b.right) / 2 - cx) ** 2 + ((b.top + b.bottom) / 2 - cy) ** 2, i)
        for i, b in enumerate(boxes)
        if b.left <= cx < b.right and b.top <= cy < b.bottom
    ]
    return min(holding)[1] if holding else None


@dataclass(frozen=True)
class PhotoEmbedding:
    """The chosen face's unit descriptor of one photo, or why there is none."""

    vector: NDArray[np.float32] | None
    faces_found: int
    failure: str | None = None  # 'unreadable', 'no_face', 'no_centre_face', 'poor_quality'
    detail: str = ""


@dataclass(frozen=True)
class Embeddings:
    """One row per photo (NaN for failures) and the failure of each failed photo."""

    vectors: NDArray[np.float32]  # photos x 128, unit rows; NaN rows for failures
    failures: tuple[str | None, ...]
    details: tuple[str, ...]
    faces_found: tuple[int, ...]

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True for photos with a usable chosen face."""
        return np.array([f is None for f in self.failures], dtype=bool)

    @classmethod
    def from_photos(cls, results: Sequence[PhotoEmbedding]) -> Embeddings:
        """Stack per-photo results (in photo order)."""
        sizes = [r.vector.size for r in results if r.vector is not None]
        vectors = np.full((len(results), sizes[0] if sizes else DIMENSIONS), np.nan, np.float32)
        for i, result in enumerate(results):
            if result.vector is not None:
                vectors[i] = result.vector
        return cls(
            vectors=vectors,
            failures=tuple(r.failure for r in results),
            details=tuple(r.detail for r in results),
            faces_found=tuple(r.faces_found for r in results),
        )


def embed_photo(
    path: Path, pipeline: FacePipeline, settings: Settings, choice: FaceChoice
) -> PhotoEmbedding:
    """Embed the chosen face of one photo; every failure becomes data, never an exception."""
    try:
        image = read_image_file(path, settings.max_image_pixels, settings.max_image_bytes)
        faces = pipeline.analyse(image)
    except FaceLedgerError as exc:
        return PhotoEmbedding(None, 0, "unreadable", exc.message)
    index = choose_face([f.box for f in faces], image.width, image.height, choice)
    if index is None:
        failure = "no_face" if not faces else "no_centre_face"
        return PhotoEmbedding(None, len(faces), failure)
    face = faces[index]
    if face.problems:
        return PhotoEmbedding(None, len(faces), "poor_quality", "; ".join(face.problems))
    return PhotoEmbedding(face.unit_embedding.astype(np.float32), len(faces))


def embed_photos(
    paths: Sequence[Path],
    settings: Settings,
    pipeline: FacePipeline,
    choice: FaceChoice = "largest",
    workers: int | None = None,
    on_done: Callable[[], None] | None = None,
) -> Embeddings:
    """Embed every photo once, in order, on a process pool (each worker holding
    ``pipeline``) when there are many; ``workers`` defaults to one per core."""
    results: list[PhotoEmbedding] = []
    job = functools.partial(embed_photo, choice=choice)
    for result in map_photos(job, paths, settings, pipeline, workers):
        results.append(result)
        if on_done:
            on_done()
    return Embeddings.from_photos(results)
