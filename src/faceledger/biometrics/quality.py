"""Per-face quality measures and the minimums that make a face usable.

The measures are deliberately simple and explainable to a reviewer: eye distance in pixels
(resolution), sharpness (variance of the Laplacian of the aligned chip), a yaw estimate from the
landmarks (how far the nose sits off the eye midline), and mean brightness. They work on either
landmark scheme (dlib's or YuNet's) and on either chip (dlib's 150x150 with a margin, or the
tighter 112x112 ArcFace crop), so values differ a little between the two pipelines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.align import YUNET_5, Landmarks
from faceledger.biometrics.detect import FaceBox


@dataclass(frozen=True)
class FaceQuality:
    """Quality measures of one detected face."""

    face_width_px: int
    eye_distance_px: float
    sharpness: float
    yaw_degrees: float
    brightness: float

    def to_dict(self) -> dict[str, int]:
        """Return the measures as integers (hundredths), as the ledger takes no floats."""
        return {
            "face_width_px": self.face_width_px,
            "eye_distance_centipx": round(self.eye_distance_px * 100),
            "sharpness_centi": round(self.sharpness * 100),
            "yaw_centidegrees": round(self.yaw_degrees * 100),
            "brightness_centi": round(self.brightness * 100),
        }


@dataclass(frozen=True)
class QualityThresholds:
    """Minimums (and maximums) a face must meet to be searched or enrolled."""

    min_eye_distance_px: float = 12.0
    min_sharpness: float = 10.0
    max_yaw_degrees: float = 60.0
    min_brightness: float = 25.0
    max_brightness: float = 235.0

    def problems(self, quality: FaceQuality) -> list[str]:
        """Return a sentence for every threshold ``quality`` misses (empty when usable)."""
        found = []
        if quality.eye_distance_px < self.min_eye_distance_px:
            found.append(
                f"face too small: eyes {quality.eye_distance_px:.1f} px apart, "
                f"minimum {self.min_eye_distance_px:g} px"
            )
        if quality.sharpness < self.min_sharpness:
            found.append(
                f"face too blurred: sharpness {quality.sharpness:.1f}, "
                f"minimum {self.min_sharpness:g}"
            )
        if abs(quality.yaw_degrees) > self.max_yaw_degrees:
            found.append(
                f"face turned too far: yaw about {abs(quality.yaw_degrees):.0f} degrees, "
                f"maximum {self.max_yaw_degrees:g}"
            )
        if quality.brightness < self.min_brightness:
            found.append(
                f"face too dark: mean brightness {quality.brightness:.0f}, "
                f"minimum {self.min_brightness:g}"
            )
        if quality.brightness > self.max_brightness:
            found.append(
                f"face too bright: mean brightness {quality.brightness:.0f}, "
                f"maximum {self.max_brightness:g}"
            )
        return found


def _grey(chip: NDArray[np.uint8]) -> NDArray[np.float64]:
    rgb = chip.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def sharpness(chip: NDArray[np.uint8]) -> float:
    """Return the variance of the 4-neighbour Laplacian of the chip's grey levels."""
    grey = _grey(chip)
    laplacian = (
        grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    )
    return float(laplacian.var())


def yaw_degrees(landmarks: Landmarks) -> float:
    """Estimate head yaw from how far the nose sits from the midpoint between the eyes.

    The nose projects onto the eye line at fraction t (0.5 when frontal), and 2 * (t - 0.5) is
    its offset from the midpoint in half eye distances. For dlib's nose base, which sits close
    to the eyes' depth, the offset is treated as a rough sine of the yaw (a cylinder). YuNet's
    nose tip stands about half an eye distance in front of the eyes, so on a rigid head its
    offset is tan(yaw) and can pass the eyes on a three-quarter view; the arctangent keeps that
    below 90 degrees. Positive means the nose points to the image right. A coarse screen for
    profile views, not a pose estimator.
    """
    left, right = landmarks.eye_centres
    axis = right - left
    length_sq = float(axis @ axis)
    if length_sq == 0.0:
        return 90.0
    t = float((landmarks.nose - left) @ axis) / length_sq
    offset = 2.0 * (t - 0.5)
    if landmarks.scheme == YUNET_5:
        return math.degrees(math.atan(offset))
    return math.degrees(math.asin(max(-1.0, min(1.0, offset))))


def measure(box: FaceBox, landmarks: Landmarks, chip: NDArray[np.uint8]) -> FaceQuality:
    """Return every quality measure of one face."""
    left, right = landmarks.eye_centres
    return FaceQuality(
        face_width_px=box.width,
        eye_distance_px=float(np.linalg.norm(right - left)),
        sharpness=sharpness(chip),
        yaw_degrees=yaw_degrees(landmarks),
        brightness=float(_grey(chip).mean()),
    )
