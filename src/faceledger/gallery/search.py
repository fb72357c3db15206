"""Candidate lists: turning nearest templates into ranked, scored subjects.

Scores: ``distance`` is the Euclidean distance between L2-normalised descriptors (0 = identical,
2 = opposite) and ``similarity = 1 - distance / 2`` maps it onto [0, 1]. The similarity is a
rescaled distance, not a probability. A candidate is *within the threshold* when its distance is
at most its gallery's operating threshold (:mod:`faceledger.gallery.thresholds`); that marks it
for attention and is never a "match" (R9).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.quality import FaceQuality
from faceledger.gallery.index import Hit


def similarity(distance: float) -> float:
    """Return the similarity in [0, 1] for a distance between unit vectors."""
    return min(1.0, max(0.0, 1.0 - distance / 2.0))


@dataclass(frozen=True)
class TemplateRef:
    """What a candidate list needs to know about a template."""

    template_id: int
    photo_id: int
    photo_sha256: str
    subject_id: int
    external_id: str
    display_name: str
    gallery: str


@dataclass(frozen=True)
class Candidate:
    """One ranked subject for a probe face."""

    rank: int
    subject_id: int
    external_id: str
    display_name: str
    gallery: str
    template_id: int
    photo_id: int
    photo_sha256: str
    distance: float
    similarity: float
    within_threshold: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the candidate as JSON-ready data."""
        return {
            "rank": self.rank,
            "subject_id": self.subject_id,
            "external_id": self.external_id,
            "display_name": self.display_name,
            "gallery": self.gallery,
            "template_id": self.template_id,
            "photo_id": self.photo_id,
            "photo_sha256": self.photo_sha256,
            "distance": round(self.distance, 4),
            "similarity": round(self.similarity, 4),
            "within_threshold": self.within_threshold,
        }

    def to_record(self) -> dict[str, Any]:
        """Return the candidate with integer scores (millionths), as the ledger records it."""
        return {
            "rank": self.rank,
            "subject_id": self.subject_id,
            "template_id": self.template_id,
            "gallery": self.gallery,
            "distance_micro": round(self.distance * 1_000_000),
            "similarity_micro": round(self.similarity * 1_000_000),
            "within_threshold": self.within_threshold,
        }


@dataclass(frozen=True)
class ProbeFace:
    """One face of a probe photo and its candidate list (empty when the face was unusable)."""

    index: int
    box: FaceBox
    quality: FaceQuality
    problems: tuple[str, ...]
    candidates: tuple[Candidate, ...]

    @property
    def searched(self) -> bool:
        """True when the face met the quality thresholds and was searched."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return the face and its candidates as JSON-ready data."""
        return {
            "index": self.index,
            "box": self.box.to_dict(),
            "quality": {
                "face_width_px": self.quality.face_width_px,
                "eye_distance_px": round(self.quality.eye_distance_px, 1),
                "sharpness": round(self.quality.sharpness, 1),
                "yaw_degrees": round(self.quality.yaw_degrees, 1),
                "brightness": round(self.quality.brightness, 1),
            },
            "searched": self.searched,
            "problems": list(self.problems),
            "candidates": [c.to_dict() for c in self.candidates],
        }


def rank_candidates(
    hits: Iterable[Hit], refs: dict[int, TemplateRef], k: int, thresholds: Mapping[str, float]
) -> tuple[Candidate, ...]:
    """Keep each subject's nearest template, order by distance, and return the top ``k``;
    ``thresholds`` holds each gallery's operating threshold (distance) by name."""
    best: dict[tuple[str, int], tuple[Hit, TemplateRef]] = {}
    for hit in hits:
        ref = refs.get(hit.template_id)
        if ref is None:
            continue  # deleted since the index was read
        key = (ref.gallery, ref.subject_id)
        if key not in best or hit.distance < best[key][0].distance:
            best[key] = (hit, ref)
    ordered = sorted(best.values(), key=lambda pair: (pair[0].distance, pair[1].template_id))
    return tuple(
        Candidate(
            rank=rank,
            subject_id=ref.subject_id,
            external_id=ref.external_id,
            display_name=ref.display_name,
            gallery=ref.gallery,
            template_id=ref.template_id,
            photo_id=ref.photo_id,
            photo_sha256=ref.photo_sha256,
            distance=hit.distance,
            similarity=similarity(hit.distance),
            within_threshold=hit.distance <= thresholds[ref.gallery],
        )
        for rank, (hit, ref) in enumerate(ordered[:k], start=1)
    )
