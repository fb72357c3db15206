"""Operating thresholds: the distance at which a candidate is flagged, and where it came from.

A candidate is *within the threshold* when its distance (Euclidean between unit vectors, 0-2)
is at most the threshold. That flags it for a trained examiner's attention; it is never a
"match" (R9). Each gallery has its own threshold:

- *calibrated*: the deployment gate activated the gallery's model with a stored evaluation, and
  the threshold is the one that evaluation predicts gives the target FPIR at the gallery's
  present size (recomputed at every search, since galleries grow);
- *uncalibrated*: no activation (only allowed under a profile without the gate, i.e. ``lab``);
  the model's published default is used and every record says so.

R12's record of each search names the threshold of every gallery searched with its source
(:meth:`OperatingThreshold.to_record`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

UNCALIBRATED_DEFAULTS = MappingProxyType(
    {
        # dlib's published rule is Euclidean 0.6 on raw descriptors; on unit vectors the
        # project's earlier default was 0.42 (it marks many strangers: see benchmarks).
        "dlib_face_recognition_resnet_model_v1": 0.42,
        # OpenCV Zoo's SFace rule of thumb is cosine >= 0.363; on lfw-dev 0.45 held FPIR near
        # 0 at the cost of a few misses. Distance between unit vectors: sqrt(2 - 2 cos).
        "opencv_zoo_sface_2021dec": math.sqrt(2 - 2 * 0.45),
    }
)
"""Uncalibrated default thresholds (distance) by embedding model name, for galleries without
an activation under a profile that has no deployment gate."""

FALLBACK_DEFAULT = 0.42
"""The default for a model not listed above (test fakes, models brought by an agency)."""


def uncalibrated_default(model_name: str) -> float:
    """Return the uncalibrated default threshold (distance) of an embedding model."""
    return UNCALIBRATED_DEFAULTS.get(model_name, FALLBACK_DEFAULT)


@dataclass(frozen=True)
class OperatingThreshold:
    """One gallery's operating threshold for one search, with its provenance."""

    gallery: str
    distance: float
    model: str  # the embedding model's name
    gallery_size: int  # templates in the gallery when the threshold was set
    calibrated: bool
    evaluation_id: int | None = None
    activation_id: int | None = None
    target_fpir: float | None = None
    within_measured_range: bool | None = None  # None when uncalibrated
    one_to_one: bool = False  # a 1:1 comparison: target_fpir is then a target FMR

    def describe(self) -> str:
        """A sentence for people: the value and where it came from."""
        if not self.calibrated:
            return (
                f"{self.distance:.4f}: the {self.model} model's uncalibrated default "
                "(no evaluation behind it)"
            )
        note = (
            ""
            if self.within_measured_range
            else "; the target lies beyond the evaluation's measured range, so the most "
            "conservative measured value is used"
        )
        if self.one_to_one:
            return (
                f"{self.distance:.4f}: calibrated for FMR {self.target_fpir:g} from evaluation "
                f"{self.evaluation_id}{note}"
            )
        return (
            f"{self.distance:.4f}: calibrated for FPIR {self.target_fpir:g} at "
            f"{self.gallery_size} templates from evaluation {self.evaluation_id} "
            f"(activation {self.activation_id}){note}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the threshold as JSON-ready data (for the API and pages)."""
        return {
            "gallery": self.gallery,
            "distance": round(self.distance, 6),
            "model": self.model,
            "gallery_size": self.gallery_size,
            "calibrated": self.calibrated,
            "evaluation_id": self.evaluation_id,
            "activation_id": self.activation_id,
            "target_fpir": self.target_fpir,
            "within_measured_range": self.within_measured_range,
            "one_to_one": self.one_to_one,
            "description": self.describe(),
        }

    def to_record(self) -> dict[str, Any]:
        """Return the threshold with integer figures, as the ledger records it (R12)."""
        return {
            "gallery": self.gallery,
            "distance_micro": round(self.distance * 1_000_000),
            "model": self.model,
            "gallery_size": self.gallery_size,
            "calibrated": self.calibrated,
            "evaluation_id": self.evaluation_id,
            "activation_id": self.activation_id,
            "target_fpir_nano": (
                None if self.target_fpir is None else round(self.target_fpir * 1_000_000_000)
            ),
            "within_measured_range": self.within_measured_range,
            "one_to_one": self.one_to_one,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> OperatingThreshold:
        """Rebuild a threshold from :meth:`to_record` (a stored search run)."""
        nano = record.get("target_fpir_nano")
        return cls(
            gallery=record["gallery"],
            distance=record["distance_micro"] / 1_000_000,
            model=record["model"],
            gallery_size=record["gallery_size"],
            calibrated=record["calibrated"],
            evaluation_id=record.get("evaluation_id"),
            activation_id=record.get("activation_id"),
            target_fpir=None if nano is None else nano / 1_000_000_000,
            within_measured_range=record.get("within_measured_range"),
            one_to_one=bool(record.get("one_to_one", False)),
        )


def strictest(points: Iterable[OperatingThreshold]) -> float:
    """The smallest threshold (distance) of a search's galleries: what a single-threshold
    summary of the search records."""
    return min(point.distance for point in points)
