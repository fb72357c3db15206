"""Alignment: five landmarks per face and the aligned chip a descriptor network expects.

An :class:`Aligner` turns a detected face into its :class:`Landmarks` (image pixels) and a chip.
Each descriptor network has its own: :class:`DlibAligner` here (dlib's 5-point shape predictor
and its 150x150 chip, for the dlib ResNet) and ``SFaceAligner`` in
:mod:`faceledger.biometrics.sface` (YuNet's points warped to the 112x112 ArcFace template).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.models import load_dlib

CHIP_SIZE = 150
CHIP_PADDING = 0.25

DLIB_5 = "dlib_5"
"""dlib's points: two corners of one eye, two corners of the other, the base of the nose."""
YUNET_5 = "yunet_5"
"""YuNet's points: right eye, left eye, nose tip, right mouth corner, left mouth corner
(the subject's right first, so image-left first on a frontal face)."""


@dataclass(frozen=True)
class Landmarks:
    """Five facial points as (x, y) image pixels, in the order ``scheme`` names."""

    points: NDArray[np.float64]  # shape (5, 2)
    scheme: str = DLIB_5

    def __post_init__(self) -> None:
        if self.scheme not in (DLIB_5, YUNET_5):
            raise ValueError(f"unknown landmark scheme {self.scheme!r}")

    @property
    def eye_centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Centres of the two eyes (image-left first)."""
        if self.scheme == DLIB_5:
            a = self.points[0:2].mean(axis=0)
            b = self.points[2:4].mean(axis=0)
        else:
            a, b = self.points[0], self.points[1]
        return (a, b) if a[0] <= b[0] else (b, a)

    @property
    def nose(self) -> NDArray[np.float64]:
        """The nose point: its base (dlib) or its tip (YuNet)."""
        nose: NDArray[np.float64] = self.points[4] if self.scheme == DLIB_5 else self.points[2]
        return nose


class Aligner(Protocol):
    """Finds the landmarks of a detected face and cuts the chip its embedder expects."""

    def align(self, pixels: NDArray[np.uint8], box: FaceBox) -> tuple[Landmarks, NDArray[np.uint8]]:
        """Return the face's landmarks and its aligned RGB chip.

        Raises:
            ConfigError: if the box lacks what this aligner needs (e.g. detector landmarks).
        """
        ...


class DlibAligner:
    """dlib's 5-point shape predictor and its 150x150 chip (padding 0.25), for dlib's ResNet."""

    def align(self, pixels: NDArray[np.uint8], box: FaceBox) -> tuple[Landmarks, NDArray[np.uint8]]:
        """Return dlib's five landmarks in ``box`` and the 150x150 RGB chip."""
        landmarks, shape = find_landmarks(pixels, box)
        return landmarks, face_chip(pixels, shape)


def _rect(box: FaceBox) -> Any:
    import dlib

    return dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)


def find_landmarks(pixels: NDArray[np.uint8], box: FaceBox) -> tuple[Landmarks, Any]:
    """Return the five landmarks of the face in ``box`` and dlib's shape object for chipping."""
    shape = load_dlib("landmarks")(pixels, _rect(box))
    points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
    return Landmarks(points, DLIB_5), shape


def face_chip(pixels: NDArray[np.uint8], shape: Any) -> NDArray[np.uint8]:
    """Return the 150x150 RGB chip, rotated and scaled so the eyes sit level and in place."""
    import dlib

    chip = dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
    return np.ascontiguousarray(chip, dtype=np.uint8)
