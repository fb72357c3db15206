"""Alignment: 5-point landmarks and the aligned face chip the descriptor network expects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.models import load_dlib

CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class Landmarks:
    """dlib's five points: two corners of each eye and the base of the nose, as (x, y)."""

    points: NDArray[np.float64]  # shape (5, 2)

    @property
    def eye_centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Centres of the two eyes (image-left first)."""
        a = self.points[0:2].mean(axis=0)
        b = self.points[2:4].mean(axis=0)
        return (a, b) if a[0] <= b[0] else (b, a)

    @property
    def nose(self) -> NDArray[np.float64]:
        """Base of the nose."""
        nose: NDArray[np.float64] = self.points[4]
        return nose


def _rect(box: FaceBox) -> Any:
    import dlib

    return dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)


def find_landmarks(pixels: NDArray[np.uint8], box: FaceBox) -> tuple[Landmarks, Any]:
    """Return the five landmarks of the face in ``box`` and dlib's shape object for chipping."""
    shape = load_dlib("landmarks")(pixels, _rect(box))
    points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
    return Landmarks(points), shape


def face_chip(pixels: NDArray[np.uint8], shape: Any) -> NDArray[np.uint8]:
    """Return the 150x150 RGB chip, rotated and scaled so the eyes sit level and in place."""
    import dlib

    chip = dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
    return np.ascontiguousarray(chip, dtype=np.uint8)
