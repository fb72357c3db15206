"""Face detection: where the faces are in an image.

Detectors sit behind one :class:`Detector` protocol. Here are the two dlib ones, for the dlib
pipeline: the HOG detector (fast on a CPU, frontal faces) and the CNN (MMOD) detector (slower,
finds more turned and small faces). The YuNet detector of the default pipeline is in
:mod:`faceledger.biometrics.yunet`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.models import (
    CNN_DETECTOR_FILE,
    HOG_DETECTOR,
    ModelInfo,
    combined_sha256,
    dlib_version,
    load_dlib,
    weight_path,
)
from faceledger.errors import ConfigError


@dataclass(frozen=True)
class FaceBox:
    """A detected face: pixel box (right/bottom exclusive) and the detector's confidence.

    ``landmarks`` holds the detector's own five points as (x, y) image pixels, when it gives
    them (YuNet: right eye, left eye, nose tip, right and left mouth corner, the subject's
    right first); the dlib detectors give none. They are not part of the box's identity and
    are left out of :meth:`to_dict`.
    """

    left: int
    top: int
    right: int
    bottom: int
    score: float
    landmarks: tuple[tuple[float, float], ...] | None = field(default=None, compare=False)

    @property
    def width(self) -> int:
        """Box width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Box height in pixels."""
        return self.bottom - self.top

    def overlap(self, other: FaceBox) -> float:
        """Return the intersection-over-union of this box and ``other`` (0 to 1)."""
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        inter = width * height
        return inter / (self.width * self.height + other.width * other.height - inter)

    def to_dict(self) -> dict[str, int]:
        """Return the box as integers (scores are left out: the ledger takes no floats)."""
        return {"left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom}

    def scaled(self, sx: float, sy: float) -> FaceBox:
        """Return the box (and its landmarks) with x scaled by ``sx`` and y by ``sy``, as when
        moving between an image and a resized copy of it."""
        points = None
        if self.landmarks is not None:
            points = tuple((x * sx, y * sy) for x, y in self.landmarks)
        return FaceBox(
            round(self.left * sx),
            round(self.top * sy),
            round(self.right * sx),
            round(self.bottom * sy),
            self.score,
            points,
        )

    def to_cache(self) -> dict[str, Any]:
        """Return the box with its score and landmarks as JSON data, to store and reload
        exactly (:meth:`from_cache`); not for the ledger, which takes no floats."""
        return {
            **self.to_dict(),
            "score": self.score,
            "landmarks": None if self.landmarks is None else [list(p) for p in self.landmarks],
        }

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> FaceBox:
        """Rebuild a box stored by :meth:`to_cache`.

        Raises:
            KeyError, TypeError, ValueError: if ``data`` is not such a box.
        """
        points = data.get("landmarks")
        return cls(
            int(data["left"]),
            int(data["top"]),
            int(data["right"]),
            int(data["bottom"]),
            float(data.get("score", 0.0)),
            None if points is None else tuple((float(x), float(y)) for x, y in points),
        )


class Detector(Protocol):
    """Finds faces in an RGB image."""

    @property
    def model(self) -> ModelInfo:
        """Identity of the detector."""
        ...

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        """Return every face found, largest first."""
        ...


def clip_box(box: FaceBox, pixels: NDArray[np.uint8]) -> FaceBox:
    """Return ``box`` cut to the image (its landmarks, if any, are kept as they are)."""
    height, width = pixels.shape[:2]
    return dataclasses.replace(
        box,
        left=max(0, box.left),
        top=max(0, box.top),
        right=min(width, box.right),
        bottom=min(height, box.bottom),
    )


def largest_first(boxes: list[FaceBox]) -> list[FaceBox]:
    """Return ``boxes`` largest area first, ties broken left to right, then top to bottom."""
    return sorted(boxes, key=lambda b: (-(b.width * b.height), b.left, b.top))


class HogDetector:
    """dlib's HOG + linear SVM frontal face detector."""

    def __init__(self, upsample: int = 1) -> None:
        self.upsample = upsample
        identity = hashlib.sha256(f"{HOG_DETECTOR}:{dlib_version()}".encode()).hexdigest()
        self._model = ModelInfo(HOG_DETECTOR, f"{dlib_version()}/upsample={upsample}", identity)

    @property
    def model(self) -> ModelInfo:
        """Identity of the detector."""
        return self._model

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        """Return every face found, largest first."""
        rects, scores, _ = load_dlib("hog").run(pixels, self.upsample, 0.0)
        boxes = [
            clip_box(FaceBox(r.left(), r.top(), r.right() + 1, r.bottom() + 1, float(s)), pixels)
            for r, s in zip(rects, scores, strict=True)
        ]
        return largest_first([b for b in boxes if b.width > 0 and b.height > 0])


class CnnDetector:
    """dlib's MMOD convolutional face detector (weights from face_recognition_models)."""

    def __init__(self, upsample: int = 1) -> None:
        self.upsample = upsample
        path = weight_path(CNN_DETECTOR_FILE)
        self._model = ModelInfo(
            "dlib_mmod_human_face_detector",
            f"{dlib_version()}/upsample={upsample}",
            combined_sha256(path),
        )

    @property
    def model(self) -> ModelInfo:
        """Identity of the detector."""
        return self._model

    def detect(self, pixels: NDArray[np.uint8]) -> list[FaceBox]:
        """Return every face found, largest first."""
        found = load_dlib("cnn")(pixels, self.upsample)
        boxes = [
            clip_box(
                FaceBox(
                    d.rect.left(),
                    d.rect.top(),
                    d.rect.right() + 1,
                    d.rect.bottom() + 1,
                    float(d.confidence),
                ),
                pixels,
            )
            for d in found
        ]
        return largest_first([b for b in boxes if b.width > 0 and b.height > 0])


def make_detector(name: str, upsample: int = 1) -> Detector:
    """Return the detector called ``name`` ('hog' or 'cnn')."""
    if name == "hog":
        return HogDetector(upsample)
    if name == "cnn":
        return CnnDetector(upsample)
    raise ConfigError(f"Unknown face detector {name!r}; choose 'hog' or 'cnn'.")
